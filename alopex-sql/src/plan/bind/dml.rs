//! Binding dml statements.
//!
//! OWNER: statement-binder helper.
