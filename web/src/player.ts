// The player: hls.js where Media Source Extensions exist, the browser's own HLS elsewhere (Safari), a quality menu
// (Auto and each rung), a captions menu (Off and each language the playlist offers), the poster while loading, keyboard
// control, and a message instead of a blank box on failure.

// hls.js is loaded on first use, so pages without a player do not download it.
type HlsModule = typeof import('hls.js')
let hlsModule: Promise<HlsModule> | null = null
const loadHls = () => (hlsModule ??= import('hls.js'))

export interface Player {
  video: HTMLVideoElement
  destroy(): void
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}): HTMLElementTagNameMap[K] {
  return Object.assign(document.createElement(tag), props)
}

export async function mountPlayer(host: HTMLElement, src: { hls?: string; file?: string; poster?: string }): Promise<Player> {
  const Hls = src.hls ? (await loadHls()).default : null
  host.replaceChildren()
  const frame = el('div', { className: 'player' })
  const video = el('video', { controls: true, playsInline: true, preload: 'metadata' })
  video.setAttribute('aria-label', 'Video player')
  if (src.poster) video.poster = src.poster
  const error = el('p', { className: 'player-error', hidden: true })
  error.setAttribute('role', 'alert')
  // The quality menu sits in a labelled bar under the picture; Auto names the rung it is playing.
  const quality = el('select', { id: `quality-${Math.random().toString(36).slice(2)}` })
  const auto = el('option', { value: '-1', textContent: 'Auto' })
  quality.append(auto)
  const controls = el('div', { className: 'player-controls', hidden: true })
  const label = el('label', { htmlFor: quality.id, textContent: 'Quality' })
  const captions = el('select', { id: `captions-${Math.random().toString(36).slice(2)}` })
  captions.append(el('option', { value: '-1', textContent: 'Off' }))
  const captionsLabel = el('label', { htmlFor: captions.id, textContent: 'Captions' })
  const captionsGroup = el('span', { className: 'player-captions', hidden: true })
  captionsGroup.append(captionsLabel, captions)
  const qualityGroup = el('span', { hidden: true })
  qualityGroup.append(label, quality)
  controls.append(captionsGroup, qualityGroup)
  const showControls = () => (controls.hidden = qualityGroup.hidden && captionsGroup.hidden)
  const offerCaptions = (tracks: { name: string; lang?: string }[]) => {
    captions.replaceChildren(el('option', { value: '-1', textContent: 'Off' }))
    tracks.forEach((t, i) => captions.append(el('option', { value: String(i), textContent: t.name || t.lang || `Track ${i + 1}` })))
    captionsGroup.hidden = tracks.length === 0
    showControls()
  }
  frame.append(video, error)
  host.append(frame, controls)

  const fail = (message: string) => {
    error.textContent = message
    error.hidden = false
    video.classList.add('failed')
    // Nothing more will load: no spinner, no controls for a stream that is not there.
    video.controls = false
    controls.hidden = true
  }

  let hls: InstanceType<HlsModule['default']> | null = null
  if (src.hls && Hls && Hls.isSupported()) {
    hls = new Hls({ capLevelToPlayerSize: true })
    hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
      data.levels.forEach((level, i) => quality.append(el('option', { value: String(i), textContent: `${Math.min(level.width, level.height)}p` })))
      qualityGroup.hidden = data.levels.length < 2
      showControls()
    })
    hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, (_e, data) => offerCaptions(data.subtitleTracks))
    hls.subtitleDisplay = true
    captions.addEventListener('change', () => {
      if (hls) hls.subtitleTrack = Number(captions.value)
    })
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
      const level = hls?.levels[data.level]
      auto.textContent = level && hls?.autoLevelEnabled ? `Auto (${Math.min(level.width, level.height)}p)` : 'Auto'
    })
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && data.response?.code === 403) {
        fail('This link has expired. Reload the page to get a new one.')
      } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls?.recoverMediaError()
      } else if (data.response?.code) {
        fail(`This video could not be played: the link answered HTTP ${data.response.code}.`)
      } else {
        fail(`This video could not be played: the link could not be reached (${data.details}).`)
      }
    })
    quality.addEventListener('change', () => {
      if (hls) hls.currentLevel = Number(quality.value)
    })
    hls.loadSource(src.hls)
    hls.attachMedia(video)
  } else if (src.hls && video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src.hls
    // Safari lists the playlist's subtitles renditions as text tracks.
    const textTracks = () => Array.from(video.textTracks).filter((t) => t.kind === 'subtitles' || t.kind === 'captions')
    video.textTracks.addEventListener('addtrack', () => offerCaptions(textTracks().map((t) => ({ name: t.label, lang: t.language }))))
    captions.addEventListener('change', () =>
      textTracks().forEach((t, i) => (t.mode = String(i) === captions.value ? 'showing' : 'disabled')),
    )
  } else if (src.file) {
    video.src = src.file
  } else {
    fail('This browser cannot play adaptive streams.')
  }
  video.addEventListener('error', () => fail('This video could not be played: the file or link may be broken.'))

  // Keyboard: space or k plays and pauses, arrows seek 5 s, m mutes, f goes full screen.
  frame.tabIndex = 0
  frame.addEventListener('keydown', (e) => {
    const keys: Record<string, () => void> = {
      ' ': () => (video.paused ? void video.play() : video.pause()),
      k: () => (video.paused ? void video.play() : video.pause()),
      ArrowRight: () => (video.currentTime += 5),
      ArrowLeft: () => (video.currentTime -= 5),
      m: () => (video.muted = !video.muted),
      f: () => (document.fullscreenElement ? void document.exitFullscreen() : void frame.requestFullscreen()),
    }
    if (e.target === video && e.key === ' ') return
    const action = keys[e.key]
    if (action) {
      e.preventDefault()
      action()
    }
  })
  return { video, destroy: () => hls?.destroy() }
}
