// The strip under the picture: the video's chapters as stretches of a seek bar (the native controls cannot show
// marks), with what has played filled in and the chapter under the pointer named; a click seeks. Beside it, the
// chapter list, whose entries seek and which marks the chapter playing.
import type { Chapter } from './api'
import { chapterAt, duration as clock } from './format'

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}): HTMLElementTagNameMap[K] {
  return Object.assign(document.createElement(tag), props)
}

export function mountChapters(player: HTMLElement, list: HTMLElement, video: HTMLVideoElement, chapters: Chapter[], length: number) {
  const strip = el('div', { className: 'timeline' })
  strip.setAttribute('aria-hidden', 'true') // the list below is the accessible way to the same chapters
  const tip = el('div', { className: 'timeline-tip', hidden: true })
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
  strip.addEventListener('mousemove', (e) => {
    const t = at(e)
    const c = chapters[chapterAt(chapters, t)]
    tip.textContent = `${clock(t)} · ${c?.title ?? ''}`
    tip.hidden = false
    tip.style.left = `${(100 * t) / length}%`
  })
  strip.addEventListener('mouseleave', () => (tip.hidden = true))
  strip.addEventListener('click', (e) => (video.currentTime = at(e)))

  const heading = el('h2', { textContent: 'Chapters' })
  const items = el('ol', { className: 'chapters' })
  const buttons = chapters.map((c) => {
    const b = el('button', { type: 'button' })
    b.append(el('span', { className: 'at', textContent: clock(c.startSeconds) }), el('span', { textContent: c.title }))
    b.addEventListener('click', () => {
      video.currentTime = c.startSeconds
      void video.play().catch(() => {})
    })
    const li = el('li')
    li.append(b)
    items.append(li)
    return b
  })
  list.replaceChildren(heading, items)
  player.after(strip)

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
