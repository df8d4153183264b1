// The Framelift page: hash routes (static hosting needs no rewrites), one function per page.

import './style.css'
import { Api, ApiError, type RuntimeConfig, type Video, type Visibility } from './api'
import { bytes, duration, encodingState, notPlayable, playable, stillEncoding } from './format'
import { mountPlayer, type Player } from './player'
import { mountTimeline } from './timeline'
import { Sessions } from './session'
import { Upload, pendingFor } from './upload'

const main = document.getElementById('main')!
const notice = document.getElementById('notice')!
const account = document.getElementById('account')!
let cleanup: (() => void)[] = []

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: (Node | string)[]) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('aria-') || k === 'role' || k === 'for') e.setAttribute(k, String(v))
    else (e as unknown as Record<string, unknown>)[k] = v
  }
  e.append(...children)
  return e
}

// A notice belongs to the page it was said on: leaving that page clears it, and so do 8 seconds.
let noticeRoute = ''
function say(message: string, kind: 'info' | 'error' = 'info') {
  notice.textContent = message
  notice.className = kind
  noticeRoute = location.hash
  if (message) setTimeout(() => notice.textContent === message && (notice.textContent = ''), 8000)
}

const errorText = (e: unknown) => (e instanceof ApiError || e instanceof Error ? e.message : String(e))

async function boot() {
  const config: RuntimeConfig = await fetch('/config.json')
    .then((r) => r.json())
    .catch(() => ({ apiBase: '', googleClientId: null, devSignIn: true }))
  const sessions = new Sessions(config)
  const api = new Api(config.apiBase, () => sessions.token())
  if (config.googleClientId) loadGoogle(config.googleClientId, sessions)

  const renderAccount = () => {
    const s = sessions.session
    if (!s) {
      account.replaceChildren(h('button', { type: 'button', textContent: 'Sign in', onclick: () => signIn(config, sessions) }))
      return
    }
    const avatar = s.picture
      ? h('img', { className: 'avatar', src: s.picture, alt: '' })
      : h('span', { className: 'avatar', 'aria-hidden': 'true', textContent: s.name.slice(0, 1).toUpperCase() })
    account.replaceChildren(
      avatar,
      h('span', { className: 'name', textContent: s.name }),
      h('button', { type: 'button', textContent: 'Sign out', onclick: () => sessions.signOut() }),
    )
  }
  sessions.onChange(() => {
    // Signing in or out answers whatever the notice asked.
    notice.textContent = ''
    renderAccount()
    route()
  })
  renderAccount()

  document.getElementById('search-form')!.addEventListener('submit', (e) => {
    e.preventDefault()
    const q = (document.getElementById('search') as HTMLInputElement).value.trim()
    if (q) location.hash = `#/search?q=${encodeURIComponent(q)}`
  })

  const route = () => {
    for (const c of cleanup) c()
    cleanup = []
    if (location.hash !== noticeRoute) notice.textContent = ''
    const [path, query] = location.hash.replace(/^#/, '').split('?')
    const params = new URLSearchParams(query ?? '')
    const parts = (path || '/').split('/').filter(Boolean)
    // The search box shows the query only on its results.
    if (parts[0] !== 'search') (document.getElementById('search') as HTMLInputElement).value = ''
    document.querySelectorAll('nav a').forEach((a) => a.removeAttribute('aria-current'))
    document.querySelector(`nav a[href="#/${parts[0] ?? ''}"]`)?.setAttribute('aria-current', 'page')
    switch (parts[0]) {
      case undefined:
        return home(api, sessions.session !== null)
      case 'watch':
        return watch(api, parts[1] ?? '', sessions.userId)
      case 'edit':
        if (!sessions.session) {
          location.hash = '#/'
          say('Sign in to edit your videos.', 'error')
          return
        }
        return edit(api, parts[1] ?? '')
      case 'upload':
        if (!sessions.session) {
          location.hash = '#/'
          say('Sign in to upload videos.', 'error')
          return
        }
        return upload(api)
      case 'mine':
        if (!sessions.session) {
          location.hash = '#/'
          say('Sign in to see your videos.', 'error')
          return
        }
        return mine(api)
      case 'search':
        return search(api, params.get('q') ?? '')
      case 'camera':
        return camera()
      case 'play':
        return playLink()
      case 'signin':
        return signIn(config, sessions)
      default:
        main.replaceChildren(h('h1', { textContent: 'Page not found' }), h('a', { href: '#/', textContent: 'Go home' }))
    }
  }
  window.addEventListener('hashchange', route)
  route()
}

function loadGoogle(clientId: string, sessions: Sessions) {
  const script = h('script', { src: 'https://accounts.google.com/gsi/client', async: true })
  script.addEventListener('load', () => {
    window.google!.accounts.id.initialize({ client_id: clientId, auto_select: true, callback: (r) => sessions.googleCredential(r.credential) })
  })
  document.head.append(script)
}

function signIn(config: RuntimeConfig, sessions: Sessions) {
  const name = h('input', { id: 'signin-name', required: true, autocomplete: 'nickname' })
  const form = h(
    'form',
    { className: 'card narrow' },
    h('h1', { textContent: 'Sign in' }),
    h('label', { for: 'signin-name', textContent: 'Name' }),
    name,
    h('button', { type: 'submit', textContent: 'Continue' }),
  )
  if (config.googleClientId && window.google) {
    const slot = h('div')
    form.prepend(slot)
    window.google.accounts.id.renderButton(slot, { theme: 'outline', size: 'large' })
  }
  if (!config.devSignIn) form.querySelectorAll('label, input, button').forEach((e) => e.remove())
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    try {
      await sessions.devSignIn(name.value.trim())
      location.hash = '#/'
    } catch (err) {
      say(errorText(err), 'error')
    }
  })
  main.replaceChildren(form)
  name.focus()
}

function card(v: Video) {
  const meta = [v.author.name, v.durationSeconds !== undefined ? duration(v.durationSeconds) : ''].filter(Boolean).join(' · ')
  return h(
    'a',
    { className: 'video-card', href: `#/watch/${v.id}`, 'aria-label': v.title },
    v.posterUrl ? h('img', { src: v.posterUrl, alt: '', loading: 'lazy' }) : h('div', { className: 'no-poster' }),
    h('span', { className: 'title', textContent: v.title }),
    h('span', { className: 'meta', textContent: meta }),
  )
}

async function home(api: Api, signedIn: boolean) {
  const grid = h('div', { className: 'grid' })
  const more = h('button', { type: 'button', textContent: 'More videos', hidden: true })
  const empty = signedIn
    ? h('p', { hidden: true }, 'No videos yet. ', h('a', { href: '#/upload', textContent: 'Upload the first one' }), '.')
    : h('p', { hidden: true, textContent: 'No videos yet. Sign in and upload the first one.' })
  main.replaceChildren(h('h1', { textContent: 'Latest videos' }), grid, empty, more)
  let cursor: string | undefined
  const page = async () => {
    try {
      const res = await api.list(cursor)
      grid.append(...res.videos.map(card))
      empty.hidden = grid.children.length > 0
      cursor = res.nextCursor
      more.hidden = !cursor
    } catch (e) {
      say(errorText(e), 'error')
    }
  }
  more.onclick = page
  await page()
}

async function watch(api: Api, id: string, me: string | null) {
  const stage = h('div', { className: 'stage' })
  main.replaceChildren(stage)
  let timer = 0
  cleanup.push(() => clearTimeout(timer))
  try {
    let { video } = await api.video(id)
    const info = h(
      'section',
      { className: 'info' },
      h('h1', { textContent: video.title }),
      h('p', { className: 'meta', textContent: `${video.author.name} · ${new Date(video.createdAt).toLocaleDateString()}` }),
      h('p', { className: 'description', textContent: video.description ?? '' }),
    )
    if (me && video.author.id === me) {
      // The owner sees who else can, and a way to change it.
      info.prepend(
        h(
          'p',
          { className: 'owner-bar' },
          h('span', { className: `badge ${video.visibility}`, textContent: video.visibility }),
          h('span', { className: 'meta', textContent: visibilityNote(video.visibility) }),
          h('a', { href: `#/edit/${video.id}`, textContent: 'Edit' }),
        ),
      )
    }
    main.append(info)
    // Nothing playable yet: say why, and keep looking until the start is encoded (or it fails).
    while (video.status !== 'ready' && video.playableSeconds === undefined) {
      const kind = video.status === 'failed' ? 'player-error' : 'player-wait'
      stage.replaceChildren(h('p', { className: kind, role: video.status === 'failed' ? 'alert' : 'status', textContent: notPlayable(video) }))
      if (video.status === 'failed') return
      await new Promise((r) => (timer = window.setTimeout(r, 2000)))
      if (!stage.isConnected) return
      video = (await api.video(id)).video
    }
    const w = await api.watch(id)
    const player: Player = await mountPlayer(stage, { hls: w.hls, poster: w.posterUrl })
    cleanup.push(() => player.destroy())
    // The seek-bar strip (chapters, storyboard previews) once the length is known (a video being encoded may not
    // know it yet).
    let mounted = false
    const chapters = (v: Video) => {
      if (mounted || !v.durationSeconds) return
      mounted = true
      const list = h('nav', { className: 'chapter-list', 'aria-label': 'Chapters' })
      if (v.chapters) info.before(list)
      mountTimeline(stage.querySelector('.player') ?? stage, list, player.video, v.chapters ?? [], v.durationSeconds, w.storyboard)
    }
    chapters(video)
    // Playing while the rest is encoded: say how far it has got until it is ready (the player follows the playlist).
    if (video.status === 'processing') {
      const note = h('p', { className: 'encoding', role: 'status', textContent: stillEncoding(video) })
      stage.after(note)
      while (video.status === 'processing') {
        await new Promise((r) => (timer = window.setTimeout(r, 2000)))
        if (!note.isConnected) return
        video = (await api.video(id)).video
        chapters(video)
        note.textContent = video.status === 'processing' ? stillEncoding(video) : ''
      }
      note.remove()
    }
  } catch (e) {
    const text = e instanceof ApiError && e.status === 404 ? 'This video does not exist, or it is private.' : errorText(e)
    stage.replaceChildren(h('p', { className: 'player-error', role: 'alert', textContent: text }))
  }
}

function upload(api: Api) {
  const title = h('input', { id: 'up-title', required: true, maxLength: 200 })
  const description = h('textarea', { id: 'up-description', rows: 3, maxLength: 5000 })
  const file = h('input', { id: 'up-file', type: 'file', accept: 'video/*', required: true })
  const visibility = visibilitySelect('up-visibility', 'public')
  const start = h('button', { type: 'submit', textContent: 'Start upload' })
  const bar = h('div', { className: 'bar', role: 'progressbar', 'aria-label': 'Upload progress', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0 })
  const fill = h('div', { className: 'fill' })
  bar.append(fill)
  const status = h('p', { className: 'status', 'aria-live': 'polite' })
  const pause = h('button', { type: 'button', textContent: 'Pause', disabled: true })
  const cancel = h('button', { type: 'button', textContent: 'Cancel', disabled: true })
  const form = h(
    'form',
    { className: 'card' },
    h('h1', { textContent: 'Upload a video' }),
    h('label', { for: 'up-title', textContent: 'Title' }),
    title,
    h('label', { for: 'up-description', textContent: 'Description' }),
    description,
    h('label', { for: 'up-visibility', textContent: 'Visibility' }),
    visibility,
    h('label', { for: 'up-file', textContent: 'Video file' }),
    file,
    h('div', { className: 'row' }, start, pause, cancel),
    bar,
    status,
  )
  main.replaceChildren(form)

  const setProgress = (percent: number) => {
    bar.setAttribute('aria-valuenow', String(percent))
    fill.style.width = `${percent}%`
  }
  const job = new Upload(api, {
    progress: (percent, sent, total) => {
      setProgress(percent)
      status.textContent = `${percent}% · ${bytes(sent)} of ${bytes(total)}`
    },
    done: (video) => {
      // Ready for the next video at once: the form is cleared and the line says where this one went.
      setProgress(100)
      form.reset()
      pause.disabled = cancel.disabled = true
      start.disabled = false
      status.replaceChildren(
        `"${video.title}" is uploaded and being processed: `,
        h('a', { href: `#/watch/${video.id}`, textContent: 'watch it when it is ready' }),
        ' or see ',
        h('a', { href: '#/mine', textContent: 'My videos' }),
        '. Choose another file to upload more.',
      )
    },
    failed: (message) => {
      // Uppy reports a lost connection as "Unknown error": say what a person can make of it.
      const why = /unknown error|network|failed to fetch/i.test(message) ? 'The upload stopped: the server could not be reached' : message
      status.textContent = `${why}. Press Start upload to retry: parts already sent are kept.`
      pause.disabled = true
      start.disabled = false
    },
  })
  file.addEventListener('change', () => {
    const f = file.files?.[0]
    setProgress(0)
    status.textContent = ''
    const p = f && pendingFor(f)
    if (p) {
      status.textContent = `This file was being uploaded as "${p.title}": Start upload resumes it.`
      if (!title.value) title.value = p.title
    }
  })
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const f = file.files?.[0]
    if (!f) return
    if (f.type && !f.type.startsWith('video/')) {
      status.textContent = `"${f.name}" is not a video (${f.type}): choose a video file.`
      return
    }
    start.disabled = true
    try {
      await job.start(f, title.value.trim(), description.value.trim(), visibility.value as Visibility)
      pause.disabled = cancel.disabled = false
      pause.textContent = 'Pause'
      status.textContent = job.resuming ? 'Resuming…' : 'Uploading…'
    } catch (err) {
      start.disabled = false
      status.textContent = errorText(err)
    }
  })
  pause.onclick = () => {
    pause.textContent = job.togglePause() ? 'Resume' : 'Pause'
  }
  cancel.onclick = async () => {
    await job.cancel()
    setProgress(0)
    status.textContent = 'Upload cancelled.'
    start.disabled = false
    pause.disabled = cancel.disabled = true
  }
}

async function mine(api: Api) {
  const list = h('ul', { className: 'mine' })
  main.replaceChildren(h('h1', { textContent: 'My videos' }), list)
  let timer = 0
  const render = async () => {
    try {
      const { videos } = await api.mine()
      list.replaceChildren(
        ...videos.map((v) => {
          const status = h('span', { className: `badge ${v.status}`, textContent: v.status })
          const row = h(
            'li',
            {},
            h('a', { href: `#/watch/${v.id}`, textContent: v.title }),
            status,
            h('span', { className: `badge ${v.visibility}`, textContent: v.visibility, title: visibilityNote(v.visibility) }),
            v.failureReason ? h('span', { className: 'reason', textContent: v.failureReason }) : '',
            encodingState(v) ? h('span', { className: 'reason', textContent: encodingState(v) }) : '',
          )
          const del = h('button', { type: 'button', textContent: 'Delete', 'aria-label': `Delete ${v.title}` })
          del.onclick = async () => {
            if (!confirm(`Delete "${v.title}"? This cannot be undone.`)) return
            await api.remove(v.id).then(render, (e) => say(errorText(e), 'error'))
          }
          row.append(h('a', { href: `#/edit/${v.id}`, textContent: 'Edit', 'aria-label': `Edit ${v.title}` }), del)
          return row
        }),
      )
      if (!videos.length) list.replaceChildren(h('li', { textContent: 'No videos yet.' }))
      if (videos.some((v) => v.status === 'uploading' || v.status === 'processing')) timer = window.setTimeout(render, 2000)
    } catch (e) {
      say(errorText(e), 'error')
    }
  }
  cleanup.push(() => clearTimeout(timer))
  await render()
}

const VISIBILITIES: [Visibility, string][] = [
  ['public', 'Public: listed on the home page and found by search'],
  ['unlisted', 'Unlisted: anyone with the link can watch; never listed or found'],
  ['private', 'Private: only you can see it'],
]

function visibilityNote(v: Visibility): string {
  return VISIBILITIES.find(([k]) => k === v)?.[1] ?? v
}

function visibilitySelect(id: string, value: Visibility) {
  const select = h('select', { id })
  for (const [k, label] of VISIBILITIES) select.append(h('option', { value: k, textContent: label }))
  select.value = value
  return select
}

async function edit(api: Api, id: string) {
  main.replaceChildren(h('p', { className: 'meta', textContent: 'Loading…' }))
  let video: Video
  try {
    video = (await api.video(id)).video
  } catch (e) {
    main.replaceChildren(h('p', { className: 'player-error', role: 'alert', textContent: errorText(e) }))
    return
  }
  const title = h('input', { id: 'edit-title', required: true, maxLength: 200, value: video.title })
  const description = h('textarea', { id: 'edit-description', rows: 6, maxLength: 5000 })
  description.value = video.description ?? ''
  const visibility = visibilitySelect('edit-visibility', video.visibility)
  const save = h('button', { type: 'submit', textContent: 'Save' })
  const status = h('p', { className: 'status', 'aria-live': 'polite' })
  const form = h(
    'form',
    { className: 'card' },
    h('h1', { textContent: 'Edit video' }),
    h('label', { for: 'edit-title', textContent: 'Title' }),
    title,
    h('label', { for: 'edit-description', textContent: 'Description' }),
    description,
    h('p', { className: 'meta', textContent: 'Lines that begin with a time (0:00 Intro, 12:34 Questions) become chapters.' }),
    h('label', { for: 'edit-visibility', textContent: 'Visibility' }),
    visibility,
    h('div', { className: 'row' }, save, h('a', { href: `#/watch/${id}`, textContent: 'Cancel' })),
    status,
  )
  main.replaceChildren(form, captionsCard(api, video))
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    save.disabled = true
    try {
      const { video: saved } = await api.edit(id, {
        title: title.value.trim(),
        description: description.value.trim() || null,
        visibility: visibility.value as Visibility,
      })
      location.hash = `#/watch/${id}`
      say(`Saved: "${saved.title}" is ${saved.visibility}.`)
    } catch (err) {
      save.disabled = false
      status.textContent = errorText(err)
    }
  })
}

/** The edit page's captions: those the video has, each removable, and a form to add a language (WebVTT or SRT). */
function captionsCard(api: Api, video: Video) {
  const list = h('ul', { className: 'mine' })
  const language = h('input', { id: 'cap-language', required: true, maxLength: 35, placeholder: 'en', size: 8 })
  const label = h('input', { id: 'cap-label', maxLength: 50, placeholder: 'English' })
  const file = h('input', { id: 'cap-file', type: 'file', accept: '.vtt,.srt,text/vtt', required: true })
  const add = h('button', { type: 'submit', textContent: 'Add captions' })
  const status = h('p', { className: 'status', 'aria-live': 'polite' })
  const render = (v: Video) => {
    list.replaceChildren(
      ...(v.captions ?? []).map((c) => {
        const remove = h('button', { type: 'button', textContent: 'Remove', 'aria-label': `Remove ${c.label} captions` })
        remove.onclick = async () => {
          try {
            render((await api.removeCaptions(v.id, c.language)).video)
            status.textContent = `${c.label} captions removed.`
          } catch (err) {
            status.textContent = errorText(err)
          }
        }
        return h('li', {}, h('span', { textContent: `${c.label} (${c.language})` }), remove)
      }),
    )
    if (!v.captions?.length) list.replaceChildren(h('li', { textContent: 'No captions yet.' }))
  }
  render(video)
  const form = h(
    'form',
    { className: 'card' },
    h('h2', { textContent: 'Captions' }),
    list,
    h('label', { for: 'cap-language', textContent: 'Language (a tag such as en, fr, pt-BR)' }),
    language,
    h('label', { for: 'cap-label', textContent: 'Name in the player (optional)' }),
    label,
    h('label', { for: 'cap-file', textContent: 'Captions file (WebVTT or SRT)' }),
    file,
    h('div', { className: 'row' }, add),
    status,
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const f = file.files?.[0]
    if (!f) return
    add.disabled = true
    try {
      const { video: saved } = await api.putCaptions(video.id, language.value.trim(), label.value.trim(), f)
      render(saved)
      status.textContent = `Captions added: ${f.name}.`
      form.reset()
    } catch (err) {
      status.textContent = errorText(err)
    } finally {
      add.disabled = false
    }
  })
  return form
}

async function search(api: Api, q: string) {
  ;(document.getElementById('search') as HTMLInputElement).value = q
  const results = h('div', { className: 'grid' })
  const heading = h('h1', { textContent: `Results for "${q}"` })
  main.replaceChildren(heading, results)
  try {
    const res = await api.search(q)
    heading.textContent = `${res.total} result${res.total === 1 ? '' : 's'} for "${q}"`
    results.append(...res.videos.map(card))
  } catch (e) {
    results.replaceChildren(h('p', { role: 'alert', textContent: errorText(e) }))
  }
}

function camera() {
  const video = h('video', { autoplay: true, muted: true, playsInline: true, 'aria-label': 'Camera preview' })
  const start = h('button', { type: 'button', textContent: 'Start camera' })
  const stop = h('button', { type: 'button', textContent: 'Stop camera', disabled: true })
  const status = h('p', { className: 'status', 'aria-live': 'polite' })
  let stream: MediaStream | null = null
  const halt = () => {
    stream?.getTracks().forEach((t) => t.stop())
    stream = null
    video.srcObject = null
    start.disabled = false
    stop.disabled = true
  }
  start.onclick = async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true })
      video.srcObject = stream
      start.disabled = true
      stop.disabled = false
      status.textContent = 'Camera and microphone on.'
    } catch (e) {
      status.textContent = `The camera could not start: ${errorText(e)}`
    }
  }
  stop.onclick = () => {
    halt()
    status.textContent = 'Camera off.'
  }
  cleanup.push(halt)
  main.replaceChildren(h('h1', { textContent: 'Camera' }), h('div', { className: 'player' }, video), h('div', { className: 'row' }, start, stop), status)
}

function playLink() {
  const input = h('input', { id: 'link-url', type: 'url', required: true, placeholder: 'https://' })
  const stage = h('div', { className: 'stage' })
  const form = h(
    'form',
    { className: 'card' },
    h('h1', { textContent: 'Play a link' }),
    h('label', { for: 'link-url', textContent: 'Video URL' }),
    input,
    h('button', { type: 'submit', textContent: 'Play' }),
  )
  main.replaceChildren(form, stage)
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    for (const c of cleanup) c()
    cleanup = []
    const p = playable(input.value)
    if (p.kind === 'invalid') {
      stage.replaceChildren(h('p', { className: 'player-error', role: 'alert', textContent: p.reason }))
    } else if (p.kind === 'youtube') {
      stage.replaceChildren(
        h('iframe', {
          className: 'player',
          src: `https://www.youtube-nocookie.com/embed/${p.id}`,
          title: 'YouTube video player',
          allow: 'accelerometer; autoplay; encrypted-media; picture-in-picture',
          allowFullscreen: true,
        }),
      )
    } else {
      const player = await mountPlayer(stage, p.kind === 'hls' ? { hls: p.url } : { file: p.url })
      cleanup.push(() => player.destroy())
    }
  })
}

void boot()
