//! The HTTP API server (hyper, HTTP/1.1): routing, the `operationID` / `token` header checks,
//! JSON binding, OpenIM's response envelope and gzip.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::api::endpoints::{self as api_endpoints, ApiCtx, Endpoint};
use crate::events::ServerEvent;
use crate::gateway::conn::BoxIo;
use crate::protocol::codes::{self, CodeError};
use crate::protocol::envelope;
use crate::protocol::gojson;
use crate::shared::Shared;

/// Largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;
/// Serves HTTP/1.1 API requests on one connection until it closes.
pub(crate) async fn serve(shared: Arc<Shared>, io: BoxIo) {
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(&shared, req).await) }
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await
    {
        log::debug!("api connection ended: {e}");
    }
}

/// An answer before encoding: HTTP status, errCode, and the JSON body.
struct Answer {
    status: StatusCode,
    err_code: i32,
    body: String,
}

impl Answer {
    fn error(e: &CodeError) -> Self {
        Self {
            status: StatusCode::OK,
            err_code: e.code,
            body: envelope::status_json(e.code, &e.msg, &e.dlt),
        }
    }

    fn success(data: Option<String>) -> Self {
        let body = match data {
            Some(d) => format!(r#"{{"errCode":0,"errMsg":"","errDlt":"","data":{d}}}"#),
            None => r#"{"errCode":0,"errMsg":"","errDlt":""}"#.to_string(),
        };
        Self {
            status: StatusCode::OK,
            err_code: 0,
            body,
        }
    }

    fn not_found(method: &Method, path: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            err_code: 404,
            body: envelope::status_json(
                404,
                "404 page not found",
                &format!("the dev gateway has no route for {method} {path}"),
            ),
        }
    }
}

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// OpenIM's permissive CORS headers (tools `mw.CorsHandler`), on every answer.
fn add_cors(headers: &mut hyper::HeaderMap) {
    for (name, value) in [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "*"),
        ("access-control-allow-headers", "*"),
        (
            "access-control-expose-headers",
            "Content-Length, Access-Control-Allow-Origin, Access-Control-Allow-Headers,Cache-Control,Content-Language,Content-Type,Expires,Last-Modified,Pragma,FooBar",
        ),
        ("access-control-max-age", "172800"),
        ("access-control-allow-credentials", "false"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() == Method::OPTIONS {
        // CORS preflight, answered like OpenIM's middleware does.
        let mut response = Response::new(Full::new(Bytes::from_static(b"\"Options Request!\"")));
        add_cors(response.headers_mut());
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        return response;
    }
    let path = req.uri().path().to_string();
    let gzip = header(&req, ACCEPT_ENCODING.as_str()).split(',').any(|e| {
        e.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("gzip")
    });
    let answer = route(shared, &path, req).await;
    shared.record(ServerEvent::Http {
        path: path.clone(),
        err_code: answer.err_code,
    });
    log::info!("api {path} errCode={}", answer.err_code);

    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    add_cors(headers);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    let body = if gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        envelope::gzip(answer.body.as_bytes())
    } else {
        answer.body.into_bytes()
    };
    *response.body_mut() = Full::new(Bytes::from(body));
    response
}

async fn route(shared: &Shared, path: &str, req: Request<Incoming>) -> Answer {
    let Some(endpoint) = Endpoint::from_path(path).filter(|_| req.method() == Method::POST) else {
        return Answer::not_found(req.method(), path);
    };
    if let Some((fault_path, delay)) = shared.faults().api_delay {
        if fault_path == path {
            tokio::time::sleep(delay).await;
        }
    }
    if let Some((fault_path, code)) = shared.faults().api_error {
        if fault_path == path {
            return Answer::error(&CodeError::new(code, "fault"));
        }
    }
    let operation_id = header(&req, "operationID").to_string();
    if operation_id.is_empty() {
        return Answer::error(&CodeError::new(codes::ARGS, "header must have operationID"));
    }
    let claims = if endpoint.needs_token() {
        let token = header(&req, "token");
        if token.is_empty() {
            return Answer::error(&CodeError::new(codes::ARGS, "header must have token"));
        }
        match shared.parse_token(token) {
            Ok(c) => Some(c),
            Err(e) => return Answer::error(&e),
        }
    } else {
        None
    };
    let content_type = header(&req, CONTENT_TYPE.as_str()).to_ascii_lowercase();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Answer::error(&CodeError::new(codes::ARGS, format!("read body: {e}"))),
    };
    let ctx = ApiCtx {
        shared,
        operation_id: &operation_id,
        claims,
    };
    let result = if endpoint.takes_protobuf() && content_type.contains("protobuf") {
        api_endpoints::call_protobuf(endpoint, &ctx, &body)
    } else {
        match gojson::parse_object(&body) {
            Ok(obj) => api_endpoints::call(endpoint, &ctx, &obj),
            Err(e) => return Answer::error(&CodeError::new(codes::ARGS, e)),
        }
    };
    match result {
        Ok(data) => Answer::success(data),
        Err(e) => Answer::error(&e),
    }
}
