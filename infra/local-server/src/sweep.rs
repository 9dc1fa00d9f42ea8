//! `POST /local/sweep?now=RFC3339`: runs the retention sweep on the embedded
//! store at a chosen "now" (default: the clock's), with the admin token. Only
//! the local server has this route; in AWS the sweep runs on its schedule.

use jiff::{SignedDuration, Timestamp};
use privacy_domain::retention::{PrivacyTeam, RetentionSweep};
use privacy_domain::subject::SubjectKey;
use privacy_http::{ApiError, ApiResponse, App};

pub const PATH: &str = "/local/sweep";

pub async fn run(app: &App, now: Option<&str>) -> ApiResponse {
    let now = match now.filter(|now| !now.is_empty()).map(str::parse::<Timestamp>) {
        None => app.clock.now(),
        Some(Ok(now)) => now,
        Some(Err(_)) => {
            let mut error = ApiError::new(400, "invalid_field", "`now` is an RFC 3339 time.");
            error.field = Some("now".to_owned());
            return error.into();
        }
    };
    let (Some(address), Some(pepper)) = (app.settings.privacy_team_address.clone(), app.pepper.as_ref()) else {
        return ApiError::new(500, "internal_error", "The local server has no privacy team address.").into();
    };
    let privacy_team = PrivacyTeam {
        subject: SubjectKey::derive(pepper, &address),
        address,
    };
    let sweep = RetentionSweep {
        ports: app.ports(),
        privacy_team: &privacy_team,
    };
    let deadline = app.clock.now() + SignedDuration::from_secs(60);
    match sweep.run(now, deadline).await {
        Ok(report) => ApiResponse::json(200, &report),
        Err(error) => ApiError::internal(&error).into(),
    }
}
