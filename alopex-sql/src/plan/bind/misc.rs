//! Binding misc statements.
//!
//! OWNER: statement-binder helper.
