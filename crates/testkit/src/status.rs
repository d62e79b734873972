//! What tests read from an error `Status`: its field violations, precondition failures and
//! `ErrorInfo` reason (empty when the detail is absent, so an assertion shows what came).

use tonic::Status;
use tonic_types::StatusExt;

/// The fields a `BadRequest` names, in order.
pub fn fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// The subjects of a `PreconditionFailure`'s violations, in order.
pub fn precondition_subjects(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .precondition_failure()
        .map(|p| p.violations.iter().map(|v| v.subject.clone()).collect())
        .unwrap_or_default()
}

/// The descriptions of a `PreconditionFailure`'s violations, in order.
pub fn precondition_descriptions(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .precondition_failure()
        .map(|p| p.violations.iter().map(|v| v.description.clone()).collect())
        .unwrap_or_default()
}

/// The `ErrorInfo` reason.
pub fn reason(status: &Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}
