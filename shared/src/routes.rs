//! The one route table. The dev server mounts exactly these routes, each on the function that serves it on AWS, and
//! the SAM template's HTTP events are checked against the same list.

use http::Method;

/// The Lambda functions that serve HTTP routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Initialize,
    PartUrl,
    Complete,
    Abort,
    List,
    WatchUrl,
    Delete,
    Edit,
    Search,
}

impl Function {
    /// The crate (and function) name under `functions/`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Initialize => "initialize",
            Function::PartUrl => "part-url",
            Function::Complete => "complete",
            Function::Abort => "abort",
            Function::List => "list",
            Function::WatchUrl => "watch-url",
            Function::Delete => "delete",
            Function::Edit => "edit",
            Function::Search => "search",
        }
    }
}

/// One HTTP route of API.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// The path in API Gateway's syntax: `{name}` for a parameter, `{name+}` (last) for the rest of the path.
    pub path: &'static str,
    pub function: Function,
}

pub const ROUTES: &[Route] = &[
    Route { method: "POST", path: "/api/uploads", function: Function::Initialize },
    Route { method: "POST", path: "/api/uploads/{id}/part-urls", function: Function::PartUrl },
    Route { method: "GET", path: "/api/uploads/{id}/parts", function: Function::PartUrl },
    Route { method: "POST", path: "/api/uploads/{id}/complete", function: Function::Complete },
    Route { method: "DELETE", path: "/api/uploads/{id}", function: Function::Abort },
    Route { method: "GET", path: "/api/videos", function: Function::List },
    Route { method: "GET", path: "/api/videos/{id}", function: Function::List },
    Route { method: "GET", path: "/api/videos/{id}/watch", function: Function::WatchUrl },
    Route { method: "GET", path: "/api/videos/{id}/hls/{path+}", function: Function::WatchUrl },
    Route { method: "DELETE", path: "/api/videos/{id}", function: Function::Delete },
    Route { method: "PATCH", path: "/api/videos/{id}", function: Function::Edit },
    Route { method: "PUT", path: "/api/videos/{id}/captions/{language}", function: Function::Edit },
    Route { method: "DELETE", path: "/api/videos/{id}/captions/{language}", function: Function::Edit },
    Route { method: "GET", path: "/api/search", function: Function::Search },
];

impl Route {
    /// API Gateway's route key, e.g. `POST /api/uploads/{id}/complete`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path parameters if `path` fits this route's pattern (the method aside).
    pub fn match_path(&self, path: &str) -> Option<Vec<(String, String)>> {
        let mut pattern = self.path.split('/');
        let mut actual = path.split('/');
        let mut params = Vec::new();
        loop {
            match (pattern.next(), actual.next()) {
                (None, None) => return Some(params),
                (Some(p), Some(a)) if p.starts_with('{') && p.ends_with("+}") => {
                    let rest: Vec<&str> = std::iter::once(a).chain(actual.by_ref()).collect();
                    if rest.iter().any(|s| s.is_empty()) {
                        return None;
                    }
                    params.push((p[1..p.len() - 2].to_owned(), rest.join("/")));
                    return Some(params);
                }
                (Some(p), Some(a)) if p.starts_with('{') && p.ends_with('}') => {
                    if a.is_empty() {
                        return None;
                    }
                    params.push((p[1..p.len() - 1].to_owned(), a.to_owned()));
                }
                (Some(p), Some(a)) if p == a => {}
                _ => return None,
            }
        }
    }
}

/// The result of looking a request up in [`ROUTES`].
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(&'static Route, Vec<(String, String)>),
    /// The path exists with other methods (listed for the `Allow` header).
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

pub fn lookup(method: &Method, path: &str) -> Lookup {
    let mut allowed = Vec::new();
    for route in ROUTES {
        if let Some(params) = route.match_path(path) {
            if route.method == method.as_str() {
                return Lookup::Found(route, params);
            }
            allowed.push(route.method);
        }
    }
    if allowed.is_empty() { Lookup::NotFound } else { Lookup::MethodNotAllowed(allowed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_their_parameters() {
        let Lookup::Found(route, params) = lookup(&Method::POST, "/api/uploads/ABC/complete") else { panic!() };
        assert_eq!(route.function, Function::Complete);
        assert_eq!(params, [("id".to_string(), "ABC".to_string())]);
        assert!(matches!(lookup(&Method::POST, "/api/uploads"), Lookup::Found(r, p) if r.function == Function::Initialize && p.is_empty()));
        assert!(matches!(lookup(&Method::GET, "/api/uploads/X/parts"), Lookup::Found(r, _) if r.function == Function::PartUrl));
        assert!(matches!(lookup(&Method::DELETE, "/api/uploads/X"), Lookup::Found(r, _) if r.function == Function::Abort));
    }

    #[test]
    fn greedy_parameters_take_the_rest_of_the_path() {
        let Lookup::Found(route, params) = lookup(&Method::GET, "/api/videos/ABC/hls/720p/index.m3u8") else { panic!() };
        assert_eq!(route.function, Function::WatchUrl);
        assert_eq!(params, [("id".to_string(), "ABC".to_string()), ("path".to_string(), "720p/index.m3u8".to_string())]);
        assert_eq!(lookup(&Method::GET, "/api/videos/ABC/hls/"), Lookup::NotFound);
        assert_eq!(lookup(&Method::GET, "/api/videos/ABC/hls//x"), Lookup::NotFound);
    }

    #[test]
    fn near_misses_do_not_match() {
        assert_eq!(lookup(&Method::POST, "/api/uploads/"), Lookup::NotFound);
        assert_eq!(lookup(&Method::POST, "/api/uploads//complete"), Lookup::NotFound);
        assert_eq!(lookup(&Method::POST, "/api/uploads/X/complete/extra"), Lookup::NotFound);
        assert_eq!(lookup(&Method::GET, "/api/uploads"), Lookup::MethodNotAllowed(vec!["POST"]));
    }

    #[test]
    fn route_keys_are_unique() {
        let mut keys: Vec<_> = ROUTES.iter().map(Route::route_key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), ROUTES.len());
    }
}
