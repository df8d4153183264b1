//! Playback from a private bucket. The `watch-url` function serves the two routes of it, which share one signing
//! scheme:
//!
//! - `GET /api/videos/{id}/watch` issues `hls`, the URL of the master playlist under this API, signed and expiring.
//! - `GET /api/videos/{id}/hls/{path}` serves a playlist if its signature holds and has not expired, rewritten so that
//!   every URI in it works: a variant playlist becomes this route again (relative, signed, same expiry), a segment a
//!   media URL (`MediaUrls`: presigned storage, or the CDN's signed URL) that expires at the same moment.
//!
//! A presigned master playlist alone would not do: the relative URIs inside it would point at unsigned objects. Here
//! nothing is reachable without a signature, everything a player needs is, and all of it stops working at `expiresAt`
//! (or as soon as the video is deleted: playlists are served only for a video that can be watched). Each link says
//! whom it was issued to (`grant`, signed with the rest): a link issued to the owner keeps working while the video is
//! private; one issued to anyone else stops as soon as the video is made private.
//!
//! A video still being encoded can be watched from the start once its first chunk and sound are in: its renditions'
//! playlists are then made from the record at each request, as `EVENT` playlists of the unbroken run of finished
//! segments that start players at the beginning; the master playlist (stored when the encode was planned) is the same
//! throughout. Once ready, the stored VOD playlists are served.

use framelift_media::chunks::{self, AUDIO};
use framelift_media::hls::VARIANT;
use framelift_shared::domain::{VideoId, VideoRecord, VideoStatus, Visibility};
use framelift_shared::http::{self, ApiResponse, StatusCode};
#[cfg(feature = "openapi")]
use framelift_shared::openapi;
use framelift_shared::ports::StoreError;
use framelift_shared::{AppError, AppState};
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use time::OffsetDateTime;

/// The signing domain of playlist URLs.
const DOMAIN: &str = "playlist";
pub const MASTER: &str = "master.m3u8";

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct WatchResponse {
    /// The signed master playlist: plays in hls.js, Safari and ffmpeg with nothing but this URL.
    hls: String,
    /// The seek bar's previews: a WebVTT index of storyboard frames, signed like `hls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    storyboard: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    poster_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    let path = req.path_parameters_ref().and_then(|p| p.first("path").map(str::to_owned));
    http::respond(match path {
        Some(path) => playlist(state, &req, &path).await,
        None => watch(state, &req).await,
    })
}

/// Whom a playback link was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Owner,
    Viewer,
}

impl Grant {
    fn as_str(self) -> &'static str {
        match self {
            Grant::Owner => "owner",
            Grant::Viewer => "viewer",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Grant::Owner),
            "viewer" => Some(Grant::Viewer),
            _ => None,
        }
    }
}

/// Get playback links
///
/// Signed, expiring links to the video's master playlist, storyboard and poster; a video still processing can be
/// watched once its start is encoded.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/videos/{id}/watch", operation_id = "watchVideo", tag = "playback",
    params(("id" = VideoId, Path, description = "The video's id.")),
    responses(
        (status = 200, description = "The links, and when they expire.", body = WatchResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict),
    ),
    security((), ("bearer" = [])),
))]
async fn watch(state: &AppState, req: &Request) -> Result<ApiResponse, AppError> {
    let id = http::path_video_id(req)?;
    let caller = state.caller_if_any(req).await?;
    let record = state.visible_record(&id, caller.as_ref()).await?;
    if !record.is_watchable() {
        return Err(AppError::Conflict(format!(
            "the video is {}: it can be watched once its first minute is encoded",
            record.status.as_str()
        )));
    }
    let grant = if caller.is_some_and(|c| record.is_owned_by(&c.id)) { Grant::Owner } else { Grant::Viewer };
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).map_err(AppError::internal)?;
    let expires_at = now + state.catalogue.media_url_ttl;
    let query = signed_query(state, &id, MASTER, expires_at.unix_timestamp(), grant);
    let hls = format!("{}/api/videos/{id}/hls/{MASTER}?{query}", base_url(req));
    let storyboard = has_storyboard(&record).then(|| {
        let query = signed_query(state, &id, STORYBOARD, expires_at.unix_timestamp(), grant);
        format!("{}/api/videos/{id}/hls/{STORYBOARD}?{query}", base_url(req))
    });
    let poster_url = state.view(&record).await?.poster_url;
    http::json(StatusCode::OK, &WatchResponse { hls, storyboard, poster_url, expires_at })
}

/// `expires=...&grant=...&sig=...` for `path` of video `id`.
fn signed_query(state: &AppState, id: &VideoId, path: &str, expires: i64, grant: Grant) -> String {
    let grant = grant.as_str();
    let sig = state.catalogue.signing_key.tag(DOMAIN, &format!("{id}/{path}|{expires}|{grant}"));
    format!("expires={expires}&grant={grant}&sig={sig}")
}

/// Where this API is, as the caller reached it.
fn base_url(req: &Request) -> String {
    let uri = req.uri();
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
        _ => String::new(),
    }
}

/// Get a playlist
///
/// A playlist (or the storyboard's index) that a signed link from `watch` leads to. The route is `{path+}` (the rest
/// of the path, slashes and all) on API Gateway; OpenAPI has no such parameter, so tools see one segment.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/videos/{id}/hls/{path}", operation_id = "getPlaylist", tag = "playback",
    params(
        ("id" = VideoId, Path, description = "The video's id."),
        ("path" = String, Path, description = "`master.m3u8`, a rendition's or the sound's playlist, a captions playlist, or `storyboard.vtt`."),
        ("expires" = Option<i64>, Query, description = "When the link expires (Unix seconds), as signed."),
        ("grant" = Option<String>, Query, description = "Whom the link was issued to (`owner` or `viewer`), as signed."),
        ("sig" = Option<String>, Query, description = "The link's signature."),
    ),
    responses(
        (status = 200, description = "The playlist, its URIs signed with the same expiry.", content(
            (String = "application/vnd.apple.mpegurl"),
            (String = "text/vtt"),
        )),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
    ),
    // No token: the link's own signature is the authority.
    security(()),
))]
async fn playlist(state: &AppState, req: &Request, path: &str) -> Result<ApiResponse, AppError> {
    let id = http::path_video_id(req)?;
    let not_found = || AppError::NotFound(format!("there is no playlist {path} for video '{id}'"));
    if !is_safe_playlist_path(path) && path != STORYBOARD {
        return Err(not_found());
    }
    let refused = || AppError::Forbidden(format!("this playback link is not valid: ask for a new one (GET /api/videos/{id}/watch)"));
    let expires: i64 = http::query_param(req, "expires").and_then(|e| e.parse().ok()).ok_or_else(refused)?;
    let grant = http::query_param(req, "grant").as_deref().and_then(Grant::parse).ok_or_else(refused)?;
    let sig = http::query_param(req, "sig").ok_or_else(refused)?;
    if !state.catalogue.signing_key.verify(DOMAIN, &format!("{id}/{path}|{expires}|{}", grant.as_str()), &sig) {
        return Err(refused());
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if expires <= now {
        return Err(AppError::Forbidden(format!("this playback link has expired: ask for a new one (GET /api/videos/{id}/watch)")));
    }
    // A deleted (or failed) video stops playing at once, whatever links are out; so does a video made private, for
    // every link but its owner's.
    let record = match state.meta.get(&id).await? {
        Some(r) if r.is_watchable() && (grant == Grant::Owner || r.visibility != Visibility::Private) => r,
        _ => return Err(not_found()),
    };
    let key = format!("{}{path}", id.media_prefix());
    if path == STORYBOARD {
        let text = storyboard_index(state, &record, expires).await?.ok_or_else(not_found)?;
        return vtt_response(text, expires - now, record.status != VideoStatus::Ready);
    }
    if let Some(language) = path.strip_prefix(CAPTIONS).and_then(|p| p.strip_suffix(".m3u8")) {
        let text = captions_playlist(state, &record, language, expires).await?.ok_or_else(not_found)?;
        return playlist_response(text, expires - now, false);
    }
    let unfinished = unfinished_playlist(&record, path);
    let bytes = match &unfinished {
        Some(text) => text.clone().into_bytes(),
        None => match state.objects.read(&key).await {
            Ok(b) => b,
            Err(StoreError::NotFound) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        },
    };
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let text = match m3u8_rs::parse_playlist_res(&bytes) {
        Ok(m3u8_rs::Playlist::MasterPlaylist(mut master)) => {
            for v in &mut master.variants {
                let child = join(dir, &v.uri).ok_or_else(not_found)?;
                v.uri = format!("{}?{}", v.uri, signed_query(state, &id, &child, expires, grant));
            }
            // The audio rendition (`EXT-X-MEDIA`) is a playlist of its own, signed the same way.
            for a in &mut master.alternatives {
                if let Some(uri) = &mut a.uri {
                    let child = join(dir, uri).ok_or_else(not_found)?;
                    *uri = format!("{uri}?{}", signed_query(state, &id, &child, expires, grant));
                }
            }
            // Captions, one subtitles rendition per language, offered to every variant.
            for track in &record.captions {
                let child = format!("{CAPTIONS}{}.m3u8", track.language);
                master.alternatives.push(m3u8_rs::AlternativeMedia {
                    media_type: m3u8_rs::AlternativeMediaType::Subtitles,
                    uri: Some(format!("{child}?{}", signed_query(state, &id, &child, expires, grant))),
                    group_id: SUBTITLES_GROUP.to_owned(),
                    language: Some(track.language.to_string()),
                    name: track.label.clone(),
                    autoselect: true,
                    ..Default::default()
                });
            }
            if !record.captions.is_empty() {
                for v in &mut master.variants {
                    v.subtitles = Some(SUBTITLES_GROUP.to_owned());
                }
            }
            let mut out = Vec::new();
            master.write_to(&mut out).map_err(AppError::internal)?;
            out
        }
        Ok(m3u8_rs::Playlist::MediaPlaylist(mut media)) => {
            let keys = media
                .segments
                .iter()
                .map(|seg| join(dir, &seg.uri).map(|child| format!("{}{child}", id.media_prefix())).ok_or_else(not_found))
                .collect::<Result<Vec<_>, _>>()?;
            let until = OffsetDateTime::from_unix_timestamp(expires).map_err(AppError::internal)?;
            for (seg, url) in media.segments.iter_mut().zip(state.media.urls(&id, &keys, until).await?) {
                seg.uri = url;
            }
            let mut out = Vec::new();
            media.write_to(&mut out).map_err(AppError::internal)?;
            out
        }
        Err(e) => return Err(AppError::internal(std::io::Error::other(format!("stored playlist {key} does not parse: {e:?}")))),
    };
    playlist_response(String::from_utf8(text).map_err(AppError::internal)?, expires - now, unfinished.is_some())
}

/// A playlist as served: private (the body carries signatures) and briefly cached (they expire, and an unfinished
/// playlist grows).
fn playlist_response(text: String, left: i64, unfinished: bool) -> Result<ApiResponse, AppError> {
    let mut res = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/vnd.apple.mpegurl")
        .header("cache-control", format!("private, max-age={}", left.min(if unfinished { 1 } else { 60 })))
        .body(Body::Text(text))
        .map_err(AppError::internal)?;
    res.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    Ok(res)
}

/// The storyboard's index, beside the playlists.
const STORYBOARD: &str = "storyboard.vtt";

fn has_storyboard(record: &VideoRecord) -> bool {
    record.media.as_ref().is_some_and(|m| m.storyboard) || record.encoding.as_ref().is_some_and(|e| !e.storyboard_run().is_empty())
}

/// The WebVTT index of the storyboard, each sprite's path signed like the segments: while processing, made from the
/// record for the unbroken run of chunks whose sprites are stored; once ready, the stored index. `None` if there is none.
async fn storyboard_index(state: &AppState, record: &VideoRecord, expires: i64) -> Result<Option<String>, AppError> {
    use framelift_media::storyboard;
    let prefix = record.id.media_prefix();
    let text = match (&record.media, &record.encoding) {
        (Some(m), _) if m.storyboard => match state.objects.read(&format!("{prefix}{}", storyboard::INDEX)).await {
            Ok(bytes) => String::from_utf8(bytes).map_err(AppError::internal)?,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        },
        (None, Some(e)) => match e.storyboard_run() {
            run if run.is_empty() => return Ok(None),
            run => storyboard::index(&run, e.width, e.height),
        },
        _ => return Ok(None),
    };
    // Each cue's target is `path#xywh=...`: the paths, signed in one call.
    let mut paths: Vec<&str> = text.lines().filter_map(|l| l.split_once("#xywh=").map(|(p, _)| p)).collect();
    paths.dedup();
    let keys: Vec<String> = paths.iter().map(|p| format!("{prefix}{p}")).collect();
    let until = OffsetDateTime::from_unix_timestamp(expires).map_err(AppError::internal)?;
    let urls = state.media.urls(&record.id, &keys, until).await?;
    let signed: std::collections::HashMap<&str, &String> = paths.iter().copied().zip(&urls).collect();
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.lines() {
        match line.split_once("#xywh=") {
            Some((path, rect)) => out.push_str(&format!("{}#xywh={rect}", signed.get(path).map_or(path, |u| u.as_str()))),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    Ok(Some(out))
}

fn vtt_response(text: String, left: i64, unfinished: bool) -> Result<ApiResponse, AppError> {
    let mut res = playlist_response(text, left, unfinished)?;
    res.headers_mut().insert("content-type", HeaderValue::from_static("text/vtt; charset=utf-8"));
    Ok(res)
}

/// The folder of the captions playlists and files.
const CAPTIONS: &str = "captions/";
/// The `GROUP-ID` of the subtitles renditions.
const SUBTITLES_GROUP: &str = "subs";

/// The subtitles playlist of the captions in `language`: the whole WebVTT file as one segment as long as the video,
/// signed like the video's segments. `None` if the video has no such captions.
async fn captions_playlist(state: &AppState, record: &VideoRecord, language: &str, expires: i64) -> Result<Option<String>, AppError> {
    let Some(track) = record.captions.iter().find(|t| t.language.as_str() == language) else { return Ok(None) };
    let length = match (&record.media, &record.encoding) {
        (Some(m), _) => m.duration_seconds,
        (None, Some(e)) => e.duration(),
        (None, None) => return Ok(None),
    };
    let until = OffsetDateTime::from_unix_timestamp(expires).map_err(AppError::internal)?;
    let url = state.media.urls(&record.id, &[record.id.captions_key(&track.language)], until).await?.remove(0);
    Ok(Some(format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:{length:.3},\n{url}\n#EXT-X-ENDLIST\n",
        length.ceil() as u64
    )))
}

/// A rendition's playlist while the video is still being encoded, made from its record: `None` for a ready video, the
/// master playlist, or a path that names no rendition.
fn unfinished_playlist(record: &VideoRecord, path: &str) -> Option<String> {
    let encoding = record.encoding.as_ref().filter(|_| record.status == VideoStatus::Processing)?;
    let (folder, file) = path.split_once('/')?;
    if file != VARIANT {
        return None;
    }
    let durations = if folder == AUDIO && encoding.has_audio {
        encoding.audio_segments.clone()
    } else if encoding.renditions.iter().any(|r| r == folder) {
        encoding.video_segments()
    } else {
        return None;
    };
    Some(chunks::media_playlist(&chunks::numbered(&durations), false))
}

/// Playlist paths the transcoder writes: `master.m3u8`, `720p/index.m3u8`; nothing that climbs or names a scheme.
fn is_safe_playlist_path(path: &str) -> bool {
    path.ends_with(".m3u8")
        && path.len() <= 200
        && path.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
}

/// A URI from a playlist in `dir`, as a path under the video's prefix; `None` for anything absolute or climbing.
fn join(dir: &str, uri: &str) -> Option<String> {
    if uri.contains("://") || uri.starts_with('/') || uri.contains('?') || uri.split('/').any(|s| s == ".." || s.is_empty()) {
        return None;
    }
    Some(if dir.is_empty() { uri.to_owned() } else { format!("{dir}/{uri}") })
}

#[cfg(test)]
mod tests;
