// The client of the Framelift HTTP API (docs/API.md). Errors carry the API's own message, which says what to fix.

export interface Video {
  id: string
  title: string
  description?: string
  author: { id: string; name: string }
  status: 'uploading' | 'processing' | 'ready' | 'failed'
  failureReason?: string
  createdAt: string
  sizeBytes: number
  durationSeconds?: number
  width?: number
  height?: number
  renditions?: { width: number; height: number; bandwidth: number }[]
  posterUrl?: string
  /** While processing: the fraction encoded so far (0 to 1). */
  progress?: number
  /** How many seconds from the start can be watched now (all of a ready video). */
  playableSeconds?: number
  /** The languages it has captions in. */
  captions?: { language: string; label: string }[]
  /** Who may see it: public (listed and searchable), unlisted (anyone with the link) or private (the owner alone). */
  visibility: Visibility
  /** Read from the description's timestamp lines, when they make a whole. */
  chapters?: Chapter[]
}

export type Visibility = 'public' | 'unlisted' | 'private'

/** What changes in an edit; what is absent stays. */
export interface VideoEdit {
  title?: string
  description?: string | null
  visibility?: Visibility
}

export interface Chapter {
  startSeconds: number
  title: string
}

export interface RuntimeConfig {
  apiBase: string
  googleClientId: string | null
  devSignIn: boolean
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export class Api {
  constructor(
    readonly base: string,
    private readonly token: () => Promise<string | null>,
  ) {}

  async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = {}
    const token = await this.token()
    if (token) headers.authorization = `Bearer ${token}`
    // A file goes as it is (captions); anything else as JSON.
    const file = body instanceof Blob
    if (body !== undefined) headers['content-type'] = file ? body.type || 'text/plain' : 'application/json'
    let res: Response
    try {
      res = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : file ? body : JSON.stringify(body), signal })
    } catch (e) {
      if (signal?.aborted) throw e
      throw new ApiError(0, 'network', 'The server could not be reached: check your connection and try again')
    }
    if (res.status === 204) return undefined as T
    const json = await res.json().catch(() => null)
    if (!res.ok) {
      const err = json?.error
      throw new ApiError(res.status, err?.code ?? 'error', err?.message ?? `The server answered ${res.status}`)
    }
    return json as T
  }

  list(cursor?: string, limit = 24) {
    const q = new URLSearchParams({ limit: String(limit) })
    if (cursor) q.set('cursor', cursor)
    return this.call<{ videos: Video[]; nextCursor?: string }>('GET', `/api/videos?${q}`)
  }
  mine(cursor?: string) {
    const q = new URLSearchParams({ mine: 'true', limit: '50' })
    if (cursor) q.set('cursor', cursor)
    return this.call<{ videos: Video[]; nextCursor?: string }>('GET', `/api/videos?${q}`)
  }
  video(id: string) {
    return this.call<{ video: Video }>('GET', `/api/videos/${encodeURIComponent(id)}`)
  }
  watch(id: string) {
    return this.call<{ hls: string; storyboard?: string; posterUrl?: string; expiresAt: string }>('GET', `/api/videos/${encodeURIComponent(id)}/watch`)
  }
  search(q: string, limit = 24) {
    return this.call<{ videos: Video[]; total: number }>('GET', `/api/search?${new URLSearchParams({ q, limit: String(limit) })}`)
  }
  edit(id: string, change: VideoEdit) {
    return this.call<{ video: Video }>('PATCH', `/api/videos/${encodeURIComponent(id)}`, change)
  }
  putCaptions(id: string, language: string, label: string, file: Blob) {
    const q = label ? `?${new URLSearchParams({ label })}` : ''
    return this.call<{ video: Video }>('PUT', `/api/videos/${encodeURIComponent(id)}/captions/${encodeURIComponent(language)}${q}`, file)
  }
  removeCaptions(id: string, language: string) {
    return this.call<{ video: Video }>('DELETE', `/api/videos/${encodeURIComponent(id)}/captions/${encodeURIComponent(language)}`)
  }
  remove(id: string) {
    return this.call<void>('DELETE', `/api/videos/${encodeURIComponent(id)}`)
  }
  initialize(body: { filename: string; contentType: string; size: number; title: string; description?: string; visibility?: Visibility }) {
    return this.call<{ video: Video; uploadId: string; partSize: number; partCount: number }>('POST', '/api/uploads', body)
  }
  partUrls(id: string, partNumbers: number[], signal?: AbortSignal) {
    return this.call<{ urls: Record<string, string>; expiresAt: string }>('POST', `/api/uploads/${id}/part-urls`, { partNumbers }, signal)
  }
  parts(id: string, signal?: AbortSignal) {
    return this.call<{ parts: { partNumber: number; etag: string; size: number }[] }>('GET', `/api/uploads/${id}/parts`, undefined, signal)
  }
  complete(id: string, parts: { partNumber: number; etag: string }[], signal?: AbortSignal) {
    return this.call<{ video: Video }>('POST', `/api/uploads/${id}/complete`, { parts }, signal)
  }
  abort(id: string) {
    return this.call<void>('DELETE', `/api/uploads/${id}`)
  }
}
