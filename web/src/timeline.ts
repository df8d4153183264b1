// The strip under the picture: a seek bar in one stretch per chapter (the native controls cannot show marks), with
// what has played filled in, and under the pointer the time, the chapter and the storyboard's frame of that moment; a
// click seeks. Beside it, the chapter list, whose entries seek and which marks the chapter playing.
import type { Chapter } from './api'
import { chapterAt, duration as clock, frameAt, parseStoryboard, type StoryboardFrame } from './format'

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}): HTMLElementTagNameMap[K] {
  return Object.assign(document.createElement(tag), props)
}

/** The strip under `player`; `chapters` empty for one stretch; `list` (if given) gets the chapter list. */
export function mountTimeline(
  player: HTMLElement,
  list: HTMLElement | null,
  video: HTMLVideoElement,
  given: Chapter[],
  length: number,
  storyboard?: string,
) {
  const chapters = given.length ? given : [{ startSeconds: 0, title: '' }]
  const strip = el('div', { className: 'timeline' })
  strip.setAttribute('aria-hidden', 'true') // the player's own controls and the chapter list are the accessible way
  const tip = el('div', { className: 'timeline-tip', hidden: true })
  const preview = el('div', { className: 'timeline-preview' })
  const tipText = el('span')
  tip.append(preview, tipText)
  // The storyboard's index is read on the first hover.
  let frames: StoryboardFrame[] | null = null
  let reading: Promise<void> | null = null
  const readFrames = () =>
    (reading ??= storyboard
      ? fetch(storyboard)
          .then((r) => (r.ok ? r.text() : ''))
          .then((t) => void (frames = parseStoryboard(t)))
          .catch(() => void (frames = []))
      : Promise.resolve(void (frames = [])))
  const fills: HTMLDivElement[] = []
  chapters.forEach((c, i) => {
    const end = chapters[i + 1]?.startSeconds ?? length
    const part = el('div', { className: 'timeline-chapter', title: `${clock(c.startSeconds)} ${c.title}` })
    part.style.flexGrow = String(Math.max(end - c.startSeconds, 0.001))
    part.dataset.start = String(c.startSeconds)
    const fill = el('div', { className: 'timeline-fill' })
    part.append(fill)
    fills.push(fill)
    strip.append(part)
  })
  strip.append(tip)
  const at = (e: MouseEvent) => {
    const box = strip.getBoundingClientRect()
    return Math.min(Math.max((e.clientX - box.left) / box.width, 0), 1) * length
  }
  const showFrame = (t: number) => {
    const f = frames ? frameAt(frames, t) : undefined
    preview.hidden = !f
    if (!f) return
    preview.style.width = `${f.w}px`
    preview.style.height = `${f.h}px`
    preview.style.backgroundImage = `url("${f.url.replace(/"/g, '%22')}")`
    preview.style.backgroundPosition = `-${f.x}px -${f.y}px`
  }
  strip.addEventListener('mousemove', (e) => {
    const t = at(e)
    const c = chapters[chapterAt(chapters, t)]
    tipText.textContent = c?.title ? `${clock(t)} · ${c.title}` : clock(t)
    tip.hidden = false
    tip.style.left = `${(100 * t) / length}%`
    showFrame(t)
    if (!frames) void readFrames().then(() => !tip.hidden && showFrame(at(e)))
  })
  strip.addEventListener('mouseleave', () => (tip.hidden = true))
  strip.addEventListener('click', (e) => (video.currentTime = at(e)))

  player.after(strip)

  // The chapter list, when there are chapters and a place for it.
  const buttons: HTMLButtonElement[] = []
  if (list && given.length) {
    const items = el('ol', { className: 'chapters' })
    for (const c of chapters) {
      const b = el('button', { type: 'button' })
      b.append(el('span', { className: 'at', textContent: clock(c.startSeconds) }), el('span', { textContent: c.title }))
      b.addEventListener('click', () => {
        video.currentTime = c.startSeconds
        void video.play().catch(() => {})
      })
      const li = el('li')
      li.append(b)
      items.append(li)
      buttons.push(b)
    }
    list.replaceChildren(el('h2', { textContent: 'Chapters' }), items)
  }

  let current = -1
  const follow = () => {
    const t = video.currentTime
    chapters.forEach((c, i) => {
      const end = chapters[i + 1]?.startSeconds ?? length
      const done = Math.min(Math.max((t - c.startSeconds) / Math.max(end - c.startSeconds, 0.001), 0), 1)
      fills[i].style.width = `${100 * done}%`
    })
    const now = chapterAt(chapters, t)
    if (now !== current) {
      buttons[current]?.removeAttribute('aria-current')
      buttons[now]?.setAttribute('aria-current', 'true')
      current = now
    }
  }
  video.addEventListener('timeupdate', follow)
  video.addEventListener('seeked', follow)
  follow()
}
