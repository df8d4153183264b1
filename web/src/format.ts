// Small pure helpers the pages share (unit-tested).
import type { Chapter, Video } from './api'

/** `75.4` → `1:15`, `3725` → `1:02:05`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`
}

/** The index of the chapter playing at `seconds` (the last that starts at or before it; the first before any). */
export function chapterAt(chapters: Chapter[], seconds: number): number {
  let i = 0
  while (i + 1 < chapters.length && chapters[i + 1].startSeconds <= seconds) i++
  return i
}

/** `1536` → `1.5 KB`. */
export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

/** The part size the server will choose for `size` bytes: `preferred`, raised in whole MiB to stay within 10,000 parts. */
export function partSize(size: number, preferred = 8 * 1024 * 1024): number {
  const mib = 1024 * 1024
  const needed = Math.ceil(size / 10_000 / mib) * mib
  return Math.max(preferred, needed, 5 * mib)
}

/** What "Play a link" plays: a YouTube video (by id), an HLS stream or a direct file. */
export type Playable = { kind: 'youtube'; id: string } | { kind: 'hls'; url: string } | { kind: 'file'; url: string }

export function playable(input: string): Playable | { kind: 'invalid'; reason: string } {
  let url: URL
  try {
    url = new URL(input.trim())
  } catch {
    return { kind: 'invalid', reason: 'That is not a link: paste a full URL starting with https://' }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { kind: 'invalid', reason: 'Only http and https links can be played' }
  }
  const host = url.hostname.replace(/^(www|m|music)\./, '')
  const id = /^[A-Za-z0-9_-]{11}$/
  if (host === 'youtu.be') {
    const v = url.pathname.slice(1).split('/')[0]
    if (id.test(v)) return { kind: 'youtube', id: v }
  }
  if (host === 'youtube.com' || host === 'youtube-nocookie.com') {
    const v = url.searchParams.get('v') ?? url.pathname.match(/^\/(?:embed|shorts|live)\/([^/?]+)/)?.[1] ?? ''
    if (id.test(v)) return { kind: 'youtube', id: v }
    return { kind: 'invalid', reason: 'That YouTube link does not name a video' }
  }
  if (/\.m3u8$/i.test(url.pathname)) return { kind: 'hls', url: url.href }
  return { kind: 'file', url: url.href }
}

/** What the watch page says of a video that cannot play yet, or never will. */
export function notPlayable(v: Video): string {
  switch (v.status) {
    case 'failed':
      return `This video could not be processed: ${v.failureReason ?? 'no reason was given'}.`
    case 'processing':
      return v.progress !== undefined
        ? `This video is being processed (${Math.floor(v.progress * 100)}% encoded). It will play here as soon as its first minute is.`
        : 'This video is being processed. It will play here as soon as its first minute is encoded.'
    default:
      return 'This video has not finished uploading yet.'
  }
}

/** How far a video in processing has got, in a few words: `40% encoded · first 1:00 playable`; empty otherwise. */
export function encodingState(v: Video): string {
  if (v.status !== 'processing') return ''
  const parts = []
  if (v.progress !== undefined) parts.push(`${Math.floor(v.progress * 100)}% encoded`)
  if (v.playableSeconds !== undefined) parts.push(`first ${duration(v.playableSeconds)} playable`)
  return parts.join(' · ')
}

/** What the watch page says under a video that plays while the rest of it is encoded. */
export function stillEncoding(v: Video): string {
  return `Still being processed (${encodingState(v)}): what is encoded plays now, and the rest follows as it is encoded.`
}

/** One frame of a storyboard: the stretch of the video it stands for and where it is in its sprite. */
export interface StoryboardFrame {
  start: number
  end: number
  url: string
  x: number
  y: number
  w: number
  h: number
}

const vttTime = (t: string) => t.split(':').reduce((acc, part) => acc * 60 + Number(part), 0)

/** The frames of a storyboard's WebVTT index (cues of `sprite.jpg#xywh=x,y,w,h`); cues of any other shape are skipped. */
export function parseStoryboard(text: string): StoryboardFrame[] {
  const frames: StoryboardFrame[] = []
  for (const block of text.replace(/\r/g, '').split(/\n\n+/)) {
    const lines = block.trim().split('\n')
    const timing = lines.findIndex((l) => l.includes('-->'))
    const target = lines[timing + 1]
    const m = target?.match(/^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/)
    if (timing < 0 || !m) continue
    const [from, to] = lines[timing].split('-->').map((t) => vttTime(t.trim().split(/\s/)[0]))
    frames.push({ start: from, end: to, url: m[1], x: Number(m[2]), y: Number(m[3]), w: Number(m[4]), h: Number(m[5]) })
  }
  return frames
}

/** The frame that stands for `seconds`, if any. */
export function frameAt(frames: StoryboardFrame[], seconds: number): StoryboardFrame | undefined {
  return frames.find((f) => seconds >= f.start && seconds < f.end) ?? (seconds >= (frames.at(-1)?.end ?? Infinity) ? frames.at(-1) : undefined)
}
