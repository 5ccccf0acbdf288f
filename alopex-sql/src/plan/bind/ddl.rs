//! Binding ddl statements.
//!
//! OWNER: statement-binder helper.
