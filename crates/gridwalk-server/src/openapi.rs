//! The OpenAPI 3 document served at `/openapi.json` (generated with utoipa).
//!
//! Every route of [`crate::http::ROUTES`] is an operation here (a test compares the
//! two); every error answer is declared as an `application/problem+json` [`p::Problem`].

use axum::Json;
use gridwalk_protocol as p;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's root.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "GridWalk sync protocol",
        version = "5",
        description = "See docs/sync-protocol.md. Photos use tus 1.0 at /v1/photos (creation, checksum sha256, termination). Every error is an RFC 7807 problem (application/problem+json)."
    ),
    paths(
        crate::http::health,
        crate::http::metrics_text,
        crate::http::server_key,
        crate::http::enroll,
        crate::http::push,
        crate::http::pull,
        crate::http::record_status,
        crate::http::missing_photos,
        crate::http::reconcile,
        crate::http::limits,
        crate::http::hazards,
        crate::http::campaigns,
        crate::http::coverage,
        crate::http::coverage_enterprises,
        crate::http_officer::login,
        crate::http_officer::logout,
        crate::http_officer::session,
        crate::http_officer::templates,
        crate::http_officer::inspection,
        crate::http_officer::inspection_photo,
        crate::http_officer::hazard_photo,
        crate::http_officer::enterprises,
        crate::http_officer::map,
        crate::http_officer::hazard,
        crate::http_officer::hazard_event,
        crate::http_officer::inspections,
        crate::http_officer::review,
        crate::http_officer::assignments,
        crate::http_officer::assign,
        crate::http_officer::reassign,
        crate::http_officer::cancel,
        crate::http_officer::draw_sample,
        crate::http_officer::samples,
        crate::http_officer::sample,
        crate::http_export::hazards_xlsx,
        crate::http_export::inspections_xlsx,
        crate::http_export::enterprises_xlsx,
        crate::http_export::tips_xlsx,
        crate::http_tips::record,
        crate::http_tips::list,
        crate::http_tips::summary,
        crate::http_tips::detail,
        crate::http_tips::decision,
        crate::http_tips::link_enterprise,
        crate::http_tips::suspected,
        crate::http_tips::reporter,
        crate::http_export::leases,
        crate::http_export::leases_xlsx,
        crate::http_export::coverage_xlsx,
        crate::http_print::record_pdf,
        crate::http_print::verify,
        crate::http_audit::list,
        crate::http_audit::verify,
        document,
        tus_options,
        tus_create,
        tus_head,
        tus_patch,
        tus_terminate,
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
        p::ClockFlag,
        p::chain::ChainProof,
        p::RecordState,
        p::MissingPhotos,
        p::MissingPhoto,
        p::PullPage,
        p::Change,
        p::ChangeKind,
        p::ReconcileRequest,
        p::ReconcileResponse,
        p::SeqRange,
        p::RangeAnswer,
        p::RangeVerdict,
        p::HeldEntry,
        p::HeldStatus,
        p::ServerLimits,
        crate::store::HazardListItem,
        crate::sessions::LoginResponse,
        crate::http_officer::SessionInfo,
        crate::http_officer::TemplateSummary,
        crate::evidence_view::InspectionDetail,
        crate::print::VerifyAnswer,
        crate::evidence_view::ItemLabel,
        crate::evidence_view::ChainPosition,
        crate::evidence_view::PhotoEvidence,
        crate::register_view::EnterprisePage,
        crate::lease_ledger::LeaseLedger,
        crate::lease_ledger::LedgerSite,
        crate::lease_ledger::LedgerLease,
        crate::lease_ledger::LeaseParty,
        crate::lease_ledger::LeaseCounts,
        crate::lease_ledger::LastInspection,
        crate::lease_ledger::PreLeaseView,
        crate::register_view::EnterpriseRow,
        crate::map_view::MapView,
        crate::map_view::MapTiles,
        crate::map_view::MapDatum,
        crate::map_view::MapPoint,
        crate::map_view::MapEnterprise,
        crate::map_view::MapInspection,
        crate::http_officer::LoginRequest,
        crate::http_officer::HazardDetail,
        crate::http_officer::HazardEventItem,
        crate::http_officer::ReassignRequest,
        crate::http_officer::CancelRequest,
        crate::audit::AuditEntry,
        crate::audit::AuditPage,
        crate::audit::VerifyReport,
        crate::tips::TipRequest,
        crate::tips::Tip,
        crate::tips::TipSource,
        crate::tips::TipStatus,
        crate::tips::TipOutcome,
        crate::tips::RewardDecision,
        crate::tips::RewardRequest,
        crate::tips::TipEnterpriseRequest,
        crate::suspected::SuspectedRequest,
        crate::suspected::SuspectedView,
        crate::tips::Reporter,
        crate::tips::TipSummary,
        crate::tips::TipCounts,
        crate::tips::TipChild,
        crate::http_officer::SampleRequest,
        crate::work::InspectionItem,
        crate::work::ReviewRequest,
        crate::work::AssignRequest,
        crate::work::Targets,
        crate::work::AssignOutcome,
        crate::work::AssignmentItem,
        crate::work::StoredSample,
        crate::coverage::CampaignSummary,
        crate::coverage::Coverage,
        crate::coverage::DutyCoverage,
        crate::coverage::ChildCoverage,
        crate::coverage::Counts,
        crate::coverage::CoverageEnterprise,
        crate::http::Health,
    )),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

/// Defines the `bearer` security scheme the authenticated operations name: the device
/// token from enrollment, sent as `Authorization: Bearer <token>`.
pub struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("device token")
                    .description(Some(
                        "The token `POST /v1/enroll` returned, as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("metrics token")
                    .description(Some(
                        "The token given to `gridwalk-server serve --metrics-token`, for a Prometheus scraper.",
                    ))
                    .build(),
            ),
        );
    }
}

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses(
        (status = 200, description = "This OpenAPI 3 document", body = Object),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = p::Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = p::Problem, content_type = "application/problem+json"),
    ))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

// The tus operations. Their handlers live in `crate::tus`, which is being rewritten
// separately; rather than annotate those handlers, these never-called functions carry only
// the documentation. The router serves `crate::tus::routes()`, and the test in
// `tests/openapi.rs` checks that these operations and the routes served agree.

/// tus discovery: the version, extensions, checksum algorithm and maximum size.
#[allow(dead_code)]
#[utoipa::path(options, path = "/v1/photos", tag = "tus",
    responses(
        (status = 204, description = "What this tus server supports",
            headers(
                ("Tus-Resumable" = String, description = "1.0.0"),
                ("Tus-Version" = String, description = "1.0.0"),
                ("Tus-Extension" = String, description = "creation,checksum,termination"),
                ("Tus-Checksum-Algorithm" = String, description = "sha256"),
                ("Tus-Max-Size" = u64, description = "The largest photo accepted, in bytes"),
            )),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = p::Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = p::Problem, content_type = "application/problem+json"),
    ))]
fn tus_options() {}

/// tus creation: opens an upload for a photo a record of this device references.
#[allow(dead_code)]
#[utoipa::path(post, path = "/v1/photos", tag = "tus",
    params(
        ("Tus-Resumable" = String, Header, description = "Must be 1.0.0"),
        ("Upload-Length" = u64, Header, description = "The photo's size in bytes (at most Tus-Max-Size)"),
        ("Upload-Metadata" = String, Header, description = "tus metadata; must carry `sha256 <base64 of the photo's 64 hex SHA-256>`; other keys are kept"),
    ),
    responses(
        (status = 201, description = "Upload created (complete at once if the server already holds the photo)",
            headers(
                ("Tus-Resumable" = String, description = "1.0.0"),
                ("Location" = String, description = "/v1/photos/<upload id>"),
                ("Upload-Offset" = u64, description = "0, or Upload-Length if the photo is already held"),
            )),
        (status = 409, description = "photo_not_referenced: push the record first", body = p::Problem, content_type = "application/problem+json"),
        (status = 412, description = "tus_version_unsupported", body = p::Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = p::Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = p::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
fn tus_create() {}

/// tus offset query: how much of an upload the server holds.
#[allow(dead_code)]
#[utoipa::path(head, path = "/v1/photos/{id}", tag = "tus",
    params(
        ("id" = uuid::Uuid, Path, description = "The upload id (from Location)"),
        ("Tus-Resumable" = String, Header, description = "Must be 1.0.0"),
    ),
    responses(
        (status = 200, description = "The upload's state",
            headers(
                ("Tus-Resumable" = String, description = "1.0.0"),
                ("Upload-Offset" = u64, description = "Bytes the server holds"),
                ("Upload-Length" = u64, description = "The photo's size"),
                ("Upload-Metadata" = String, description = "The metadata given at creation"),
                ("Cache-Control" = String, description = "no-store"),
            )),
        (status = "4XX", description = "A problem (no body on HEAD; 404 for another device's upload)", body = p::Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = p::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
fn tus_head() {}

/// tus chunk: appends bytes at the server's offset, whole or not at all.
#[allow(dead_code)]
#[utoipa::path(patch, path = "/v1/photos/{id}", tag = "tus",
    params(
        ("id" = uuid::Uuid, Path, description = "The upload id (from Location)"),
        ("Tus-Resumable" = String, Header, description = "Must be 1.0.0"),
        ("Upload-Offset" = u64, Header, description = "Must equal the server's offset"),
        ("Upload-Checksum" = Option<String>, Header, description = "Optional `sha256 <base64 digest of this chunk>`"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream",
        description = "The chunk's bytes (at most 8 MiB)"),
    responses(
        (status = 204, description = "Chunk stored (and the photo verified if it was the last)",
            headers(
                ("Tus-Resumable" = String, description = "1.0.0"),
                ("Upload-Offset" = u64, description = "The new offset"),
            )),
        (status = 409, description = "upload_offset_mismatch; Upload-Offset carries the server's offset", body = p::Problem, content_type = "application/problem+json"),
        (status = 422, description = "photo_hash_mismatch; the upload was discarded", body = p::Problem, content_type = "application/problem+json"),
        (status = 460, description = "checksum_mismatch; nothing of the chunk was kept", body = p::Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = p::Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = p::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
fn tus_patch() {}

/// tus termination: drops an upload and its partial data.
#[allow(dead_code)]
#[utoipa::path(delete, path = "/v1/photos/{id}", tag = "tus",
    params(
        ("id" = uuid::Uuid, Path, description = "The upload id (from Location)"),
        ("Tus-Resumable" = String, Header, description = "Must be 1.0.0"),
    ),
    responses(
        (status = 204, description = "Upload removed",
            headers(("Tus-Resumable" = String, description = "1.0.0"))),
        (status = "4XX", description = "A problem (docs/sync-protocol.md)", body = p::Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = p::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
fn tus_terminate() {}
