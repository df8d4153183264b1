// Uploads with Uppy's S3 multipart plugin driving our API's routes: `initialize` before Uppy starts (so a 413 or 415
// comes back before any byte is sent), then part URLs, the parts storage holds (resume), complete and abort.
// An upload in progress is remembered in localStorage by file name, size and date, so picking the same file after a
// reload resumes it from the parts storage already holds.

import Uppy, { type UppyFile } from '@uppy/core'
import AwsS3 from '@uppy/aws-s3'
import type { Api, Video, Visibility } from './api'

interface Pending {
  videoId: string
  uploadId: string
  partSize: number
  title: string
}

const PENDING = 'framelift.pending.'

/** What identifies a file across page loads. */
export function fileKey(f: { name: string; size: number; lastModified: number }) {
  return `${PENDING}${f.name}:${f.size}:${f.lastModified}`
}

export function pendingFor(f: File): Pending | null {
  const raw = localStorage.getItem(fileKey(f))
  return raw ? (JSON.parse(raw) as Pending) : null
}

export interface UploadEvents {
  progress(percent: number, sent: number, total: number): void
  done(video: Video): void
  failed(message: string): void
}

type Meta = Record<string, never>
type Body = { location?: string }

export class Upload {
  private readonly uppy: Uppy<Meta, Body>
  private fileId: string | null = null
  private pending: Pending | null = null
  private file: File | null = null
  private paused = false

  constructor(
    private readonly api: Api,
    private readonly events: UploadEvents,
  ) {
    this.uppy = new Uppy<Meta, Body>({ autoProceed: false, restrictions: { maxNumberOfFiles: 1 } })
    this.uppy.use(AwsS3<Meta, Body>, {
      shouldUseMultipart: () => true,
      // Several parts in flight; a failed part is retried after these delays.
      limit: 4,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      getChunkSize: () => this.pending!.partSize,
      // Every upload is multipart (shouldUseMultipart), so the single-request path is never taken.
      getUploadParameters: () => Promise.reject(new Error('single-request uploads are not used')),
      createMultipartUpload: async () => ({ uploadId: this.pending!.uploadId, key: this.pending!.videoId }),
      signPart: async (_file: UppyFile<Meta, Body>, { key, partNumber, signal }: { key: string; partNumber: number; signal?: AbortSignal }) => {
        const { urls } = await this.api.partUrls(key, [partNumber], signal)
        return { method: 'PUT' as const, url: urls[String(partNumber)] }
      },
      listParts: async (_file: UppyFile<Meta, Body>, { key, signal }: { key: string; signal?: AbortSignal }) => {
        const { parts } = await this.api.parts(key, signal)
        return parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag, Size: p.size }))
      },
      completeMultipartUpload: async (
        _file: UppyFile<Meta, Body>,
        { key, parts, signal }: { key: string; parts: { PartNumber?: number; ETag?: string }[]; signal?: AbortSignal },
      ) => {
        const { video } = await this.api.complete(
          key,
          parts.map((p) => ({ partNumber: p.PartNumber!, etag: p.ETag! })),
          signal,
        )
        this.finished(video)
        return { location: `#/watch/${video.id}` }
      },
      // Uppy calls this when an upload fails as well as when it is cancelled. A failure must keep what storage holds
      // (Start upload retries from there), so only Cancel aborts, in `cancel()`.
      abortMultipartUpload: async () => undefined,
    })
    this.uppy.on('upload-progress', (_file, p) => {
      const total = p.bytesTotal ?? 0
      const sent = p.bytesUploaded ?? 0
      if (total > 0) this.events.progress(Math.floor((sent / total) * 100), sent, total)
    })
    this.uppy.on('upload-error', (_file, error) => this.events.failed(error?.message ?? 'The upload failed'))
  }

  /** Starts (or resumes) uploading `file`. */
  async start(file: File, title: string, description: string, visibility: Visibility = 'public'): Promise<void> {
    const held = this.fileId ? this.uppy.getFile(this.fileId) : undefined
    if (held && this.file && this.pending && fileKey(this.file) === fileKey(file)) {
      // The same file after a failure (a lost connection, a server restart): Uppy still holds its upload and retries
      // it, asking storage which parts it holds and sending the rest.
      void this.uppy.retryUpload(held.id)
      return
    }
    // A finished or abandoned upload makes way for the next one.
    if (held) this.uppy.removeFile(held.id)
    this.fileId = null
    this.file = file
    this.pending = pendingFor(file)
    const resuming = this.pending !== null
    if (!this.pending) {
      const init = await this.api.initialize({
        filename: file.name,
        contentType: file.type || 'application/octet-stream',
        size: file.size,
        title,
        description: description || undefined,
        visibility,
      })
      this.pending = { videoId: init.video.id, uploadId: init.uploadId, partSize: init.partSize, title }
      localStorage.setItem(fileKey(file), JSON.stringify(this.pending))
    }
    this.fileId = this.uppy.addFile({ name: file.name, type: file.type, data: file, source: 'Local' })
    if (resuming) {
      // Uppy restores an upload whose id and key it is given: it asks for the parts storage holds and sends the rest.
      this.uppy.setFileState(this.fileId, { s3Multipart: { uploadId: this.pending.uploadId, key: this.pending.videoId } } as never)
    }
    void this.uppy.upload()
  }

  get resuming() {
    return this.pending !== null
  }

  /** Pauses or resumes; true when now paused. */
  togglePause(): boolean {
    if (!this.fileId) return false
    this.paused = !!this.uppy.pauseResume(this.fileId)
    return this.paused
  }

  async cancel() {
    const pending = this.pending
    this.uppy.cancelAll()
    if (pending) await this.api.abort(pending.videoId).catch(() => undefined)
    this.forget()
  }

  private finished(video: Video) {
    this.forget()
    this.events.done(video)
  }

  private forget() {
    if (this.file) localStorage.removeItem(fileKey(this.file))
    this.pending = null
  }
}
