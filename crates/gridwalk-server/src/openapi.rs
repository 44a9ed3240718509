//! The OpenAPI 3 document served at `/openapi.json` (generated with utoipa).

use axum::Json;
use gridwalk_protocol as p;
use utoipa::OpenApi;

/// The document's root.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "GridWalk sync protocol",
        version = "1",
        description = "See docs/sync-protocol.md. Photos use tus 1.0 at /v1/photos (creation, checksum sha256, termination)."
    ),
    paths(
        crate::http::server_key,
        crate::http::enroll,
        crate::http::push,
        crate::http::pull,
        crate::http::record_status,
        crate::http::missing_photos,
    ),
    components(schemas(
        p::Problem,
        p::ProblemCode,
        p::EnrollRequest,
        p::EnrollResponse,
        p::EnrolledUser,
        p::Role,
        p::ServerKey,
        p::PushRequest,
        p::PushResponse,
        p::RecordEnvelope,
        p::RecordKind,
        p::RecordResult,
        p::Outcome,
        p::Receipt,
        p::ReceiptBody,
        p::ReceiptRecord,
        p::RecordStatus,
        p::RecordState,
        p::MissingPhotos,
        p::MissingPhoto,
        p::PullPage,
        p::Change,
        p::ChangeKind,
    ))
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
