// The web client end to end in real headless Chromium (Debian's, driven by playwright-core) against a running dev
// server: node e2e/run.mjs BASE_URL CLIP LONG_CLIP SCREENSHOT_DIR. LONG_CLIP is several minutes long, so that it is
// encoded in several chunks. Each step saves a screenshot; any failure exits non-zero.

import { chromium } from 'playwright-core'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'

const [base, clip, longClip, shots] = process.argv.slice(2)
if (!base || !clip || !longClip || !shots) {
  console.error('usage: node e2e/run.mjs BASE_URL CLIP LONG_CLIP SCREENSHOT_DIR')
  process.exit(2)
}
rmSync(shots, { recursive: true, force: true })
mkdirSync(shots, { recursive: true })
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'
const browser = await chromium.launch({
  executablePath,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
  ],
})
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
await context.grantPermissions(['camera', 'microphone'], { origin: base })
const page = await context.newPage()
const problems = []
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
let step = 0
// As a person sees the page: from its top, once transitions (the progress bar's) have settled.
const shot = async (name) => {
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.waitForTimeout(300)
  return page.screenshot({ path: join(shots, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true })
}
const title = `Harbour walk ${Date.now().toString(36)}`
const check = (ok, message) => {
  if (!ok) throw new Error(message)
}
const currentTime = () => page.evaluate(() => document.querySelector('video')?.currentTime ?? 0)

try {
  // Signed out, the upload page sends you home with a word why.
  await page.goto(`${base}/#/upload`)
  await page.getByText('Sign in to upload videos.').waitFor()
  check(new URL(page.url()).hash === '#/', `expected to be sent home, at ${page.url()}`)
  await shot('upload-signed-out')
  // The notice belongs to that page: it is gone on the next one.
  await page.getByRole('searchbox', { name: 'Search' }).fill('anything')
  await page.getByRole('searchbox', { name: 'Search' }).press('Enter')
  await page.getByRole('heading', { name: /results? for "anything"/ }).waitFor()
  check((await page.locator('#notice').textContent()) === '', `a notice outlived its page: ${await page.locator('#notice').textContent()}`)

  // Sign in with the dev issuer.
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByLabel('Name').fill('Keerti')
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
  await page.getByText('Keerti', { exact: true }).waitFor()
  // Nothing uploaded yet: the page offers the upload to someone who is signed in.
  await page.getByRole('link', { name: 'Upload the first one' }).waitFor()
  await shot('signed-in')

  // Upload a shared clip; the progress bar reaches 100%.
  await page.getByRole('navigation').getByRole('link', { name: 'Upload' }).click()
  await page.getByLabel('Title').fill(title)
  await page.getByLabel('Description').fill('A walk along the harbour at dawn')
  await page.getByLabel('Video file').setInputFiles(clip)
  await page.getByRole('button', { name: 'Start upload' }).click()
  const bar = page.getByRole('progressbar')
  await page.waitForFunction(() => document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow') === '100', null, { timeout: 60_000 })
  check((await bar.getAttribute('aria-valuenow')) === '100', 'progress did not reach 100')
  await page.getByText(`"${title}" is uploaded and being processed`).waitFor()
  await shot('uploaded')

  // A second video from the same page: the form is ready for it at once.
  check(await page.getByRole('button', { name: 'Start upload' }).isEnabled(), 'Start upload is disabled after an upload')
  check((await page.getByLabel('Title').inputValue()) === '', 'the last title is still in the form')
  const second = `Pier at noon ${Date.now().toString(36)}`
  await page.getByLabel('Title').fill(second)
  await page.getByLabel('Video file').setInputFiles(clip)
  check(!(await page.getByText('is uploaded and being processed').isVisible()), 'the last upload\'s line is still shown for a new file')
  await page.getByRole('button', { name: 'Start upload' }).click()
  await page.getByText(`"${second}" is uploaded and being processed`).waitFor({ timeout: 60_000 })
  await shot('second-upload')

  // My videos: the status updates to ready without a reload.
  await page.getByRole('navigation').getByRole('link', { name: 'My videos' }).click()
  await page.locator('li', { hasText: title }).locator('.badge.ready').waitFor({ timeout: 180_000 })
  await shot('ready')

  // Watch: play past 2 s, then switch quality.
  await page.getByRole('link', { name: title, exact: true }).click()
  await page.locator('video').waitFor()
  await page.evaluate(() => {
    const v = document.querySelector('video')
    v.muted = true
    return v.play()
  })
  await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 2, null, { timeout: 30_000 })
  const quality = page.getByLabel('Quality')
  const options = await quality.locator('option').allTextContents()
  check(options[0].startsWith('Auto') && options.length >= 3, `quality menu: ${options}`)
  await quality.selectOption({ label: options[1] })
  check((await quality.inputValue()) === '0', 'quality did not switch')
  await shot(`watch-${options[1]}`)
  const { hls } = await page.evaluate(async (id) => (await fetch(`/api/videos/${id}/watch`)).json(), new URL(page.url()).hash.split('/')[2])

  // A long video plays from 0 s while its later chunks are still being encoded, and My videos shows how far it has got.
  const lesson = `Long lesson ${Date.now().toString(36)}`
  await page.getByRole('navigation').getByRole('link', { name: 'Upload' }).click()
  await page.getByLabel('Title').fill(lesson)
  await page.getByLabel('Description').fill('What this lesson covers.\n\n0:00 Welcome\n1:30 Segments and playlists\n3:00 Questions')
  await page.getByLabel('Video file').setInputFiles(longClip)
  await page.getByRole('button', { name: 'Start upload' }).click()
  await page.getByText(`"${lesson}" is uploaded and being processed`).waitFor({ timeout: 60_000 })
  await page.getByRole('navigation').getByRole('link', { name: 'My videos' }).click()
  const row = page.locator('li', { hasText: lesson })
  await row.getByText(/\d+% encoded · first \d+:\d\d playable/).waitFor({ timeout: 120_000 })
  await shot('my-videos-encoding')
  await row.getByRole('link', { name: lesson, exact: true }).click()
  await page.locator('video').waitFor()
  await page.getByText(/^Still being processed \(\d+% encoded · first \d+:\d\d playable\)/).waitFor()
  await page.evaluate(() => {
    const v = document.querySelector('video')
    v.muted = true
    return v.play()
  })
  await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1, null, { timeout: 30_000 })
  const began = await currentTime()
  const lessonId = new URL(page.url()).hash.split('/')[2]
  const during = await page.evaluate(async (id) => (await fetch(`/api/videos/${id}`)).json(), lessonId)
  check(during.video.status === 'processing', `the video was ${during.video.status} when it played: it must play while being encoded`)
  check(during.video.progress < 1, `everything was encoded already: ${JSON.stringify(during.video)}`)
  check(began < 5, `playback began at ${began} s, not at the start`)
  await shot('watch-while-encoding')
  // Once it is ready the note goes, and the player has played on.
  await page.getByText(/^Still being processed/).waitFor({ state: 'detached', timeout: 300_000 })
  const after = await page.evaluate(async (id) => (await fetch(`/api/videos/${id}`)).json(), lessonId)
  check(after.video.status === 'ready' && after.video.playableSeconds === after.video.durationSeconds, JSON.stringify(after.video))
  check((await currentTime()) > began, 'the player stopped when the video became ready')
  await shot('watch-once-ready')

  // Chapters from the description: a list that seeks, and the strip under the picture in three stretches.
  const chapters = page.getByRole('navigation', { name: 'Chapters' })
  const entries = await chapters.getByRole('button').allTextContents()
  check(entries.join('|') === '0:00Welcome|1:30Segments and playlists|3:00Questions', `chapters: ${entries}`)
  check((await page.locator('.timeline-chapter').count()) === 3, 'the strip has a stretch per chapter')
  await chapters.getByRole('button', { name: /Questions/ }).click()
  await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) >= 180, null, { timeout: 10_000 })
  await chapters.locator('button[aria-current="true"]', { hasText: 'Questions' }).waitFor()
  const strip = await page.locator('.timeline').boundingBox()
  await page.mouse.move(strip.x + strip.width * 0.375, strip.y + strip.height / 2)
  const tip = await page.locator('.timeline-tip').textContent()
  check(/^2:1\d · Segments and playlists$/.test(tip), `the strip names the chapter under the pointer: ${tip}`)
  await page.mouse.click(strip.x + strip.width * 0.1, strip.y + strip.height / 2)
  await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 999) < 60, null, { timeout: 10_000 })
  await chapters.locator('button[aria-current="true"]', { hasText: 'Welcome' }).waitFor()
  await shot('chapters')
  // What the pointer sees over the strip, as a person sees it (a full-page shot moves the pointer away).
  const moved = await page.locator('.timeline').boundingBox()
  await page.mouse.move(0, 0)
  await page.mouse.move(moved.x + moved.width * 0.375, moved.y + moved.height / 2, { steps: 4 })
  await page.locator('.timeline-tip').waitFor()
  // The storyboard's frame of that moment shows above the label: 2:15 is segment 22, the third of the third minute's
  // sprite (frames of 160 x 90, five to a row).
  await page.waitForFunction(() => {
    const p = document.querySelector('.timeline-preview')
    return p && !p.hidden && p.style.backgroundImage.includes('storyboard/sprite_0002.jpg')
  }, null, { timeout: 10_000 })
  const frame = await page.evaluate(() => {
    const p = document.querySelector('.timeline-preview')
    return { w: p.offsetWidth, h: p.offsetHeight, at: p.style.backgroundPosition }
  })
  check(frame.w === 160 && frame.h === 90 && frame.at === '-320px 0px', `the frame for 2:15: ${JSON.stringify(frame)}`)
  const sprite = await page.evaluate(async () => {
    const url = document.querySelector('.timeline-preview').style.backgroundImage.slice(5, -2)
    const img = new Image()
    img.src = url
    await img.decode()
    return [img.naturalWidth, img.naturalHeight]
  })
  check(sprite.join('x') === '800x180', `a sprite of 5 x 2 frames of 160 x 90: ${sprite}`)
  await page.screenshot({ path: join(shots, `${String(++step).padStart(2, '0')}-chapter-under-the-pointer.png`) })

  // Privacy and editing: the lesson is renamed and made unlisted; it leaves the home page but plays for anyone with
  // its link; made private, its link shows nothing to anyone else; public again, it is back.
  await page.getByRole('navigation').getByRole('link', { name: 'My videos' }).click()
  await page.getByRole('link', { name: `Edit ${lesson}` }).click()
  await page.getByLabel('Title').fill(`${lesson} (edited)`)
  await page.getByLabel('Visibility').selectOption('unlisted')
  await shot('edit')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByText(`Saved: "${lesson} (edited)" is unlisted.`).waitFor()
  await page.getByRole('heading', { name: `${lesson} (edited)` }).waitFor()
  await page.locator('.owner-bar .badge.unlisted').waitFor()
  await shot('watch-unlisted-as-owner')
  const lessonLink = page.url()
  await page.getByRole('link', { name: 'Home' }).click()
  await page.getByRole('link', { name: title }).first().waitFor()
  check((await page.getByRole('link', { name: `${lesson} (edited)` }).count()) === 0, 'an unlisted video is on the home page')
  const stranger = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
  await stranger.goto(lessonLink)
  await stranger.getByRole('heading', { name: `${lesson} (edited)` }).waitFor()
  await stranger.locator('video').waitFor()
  check((await stranger.locator('.owner-bar').count()) === 0, 'a stranger sees the owner\'s controls')
  await stranger.screenshot({ path: join(shots, `${String(++step).padStart(2, '0')}-unlisted-by-link-signed-out.png`) })
  await page.goto(lessonLink.replace('#/watch/', '#/edit/'))
  await page.getByLabel('Visibility').selectOption('private')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByText(`Saved: "${lesson} (edited)" is private.`).waitFor()
  await stranger.reload()
  await stranger.getByRole('alert').filter({ hasText: 'This video does not exist, or it is private.' }).waitFor()
  await stranger.screenshot({ path: join(shots, `${String(++step).padStart(2, '0')}-private-signed-out.png`) })
  await page.getByRole('navigation').getByRole('link', { name: 'My videos' }).click()
  await page.locator('li', { hasText: `${lesson} (edited)` }).locator('.badge.private').waitFor()
  await shot('my-videos-private')
  await stranger.context().close()

  // Captions: an SRT file for English on the edit page; the player's Captions menu turns them on, and the cue meant
  // for 3:01 shows at 3:01 (the WebVTT's timestamp map lines up with the renditions); Off turns them off.
  const srt = join(shots, 'lesson.en.srt')
  writeFileSync(srt, '1\r\n00:00:01,000 --> 00:00:05,000\r\nWelcome to the lesson\r\n\r\n2\r\n00:03:00,500 --> 00:03:06,000\r\nQuestions, please\r\n')
  await page.goto(lessonLink.replace('#/watch/', '#/edit/'))
  await page.getByLabel('Language (a tag such as en, fr, pt-BR)').fill('en')
  await page.getByLabel('Name in the player (optional)').fill('English')
  await page.getByLabel('Captions file (WebVTT or SRT)').setInputFiles(srt)
  await page.getByRole('button', { name: 'Add captions' }).click()
  await page.getByText('English (en)').waitFor()
  await shot('captions-added')
  await page.goto(lessonLink)
  await page.getByLabel('Captions').waitFor()
  const captionOptions = await page.getByLabel('Captions').locator('option').allTextContents()
  check(captionOptions.join('|') === 'Off|English', `the captions menu: ${captionOptions}`)
  await page.getByLabel('Captions').selectOption({ label: 'English' })
  await page.evaluate(() => {
    const v = document.querySelector('video')
    v.muted = true
    v.currentTime = 181
    return v.play()
  })
  const cue = () =>
    page.evaluate(() =>
      Array.from(document.querySelector('video').textTracks)
        .filter((t) => t.mode === 'showing')
        .flatMap((t) => Array.from(t.activeCues ?? []).map((c) => c.text))
        .join('|'),
    )
  await page.waitForFunction(
    () => Array.from(document.querySelector('video').textTracks).some((t) => t.mode === 'showing' && Array.from(t.activeCues ?? []).some((c) => c.text === 'Questions, please')),
    null,
    { timeout: 20_000 },
  )
  const at = await currentTime()
  check(at >= 180.5 && at < 186, `the 3:00.5 cue showed at ${at} s`)
  await page.evaluate(() => document.querySelector('video').pause())
  await shot('captions-on')
  await page.getByLabel('Captions').selectOption({ label: 'Off' })
  await page.waitForFunction(() => Array.from(document.querySelector('video').textTracks).every((t) => t.mode !== 'showing'), null, { timeout: 5_000 })
  check((await cue()) === '', 'captions still showing after Off')

  // Search with a typo in the author's name.
  await page.getByRole('searchbox', { name: 'Search' }).fill('keetri harbuor')
  await page.getByRole('searchbox', { name: 'Search' }).press('Enter')
  await page.getByRole('link', { name: title }).waitFor()
  await shot('search')

  // Before any byte is sent: a file that is not a video, and one larger than the server allows (the test server's
  // maximum is 64 MiB).
  const storagePuts = []
  page.on('request', (r) => r.method() === 'PUT' && r.url().includes('/framelift-local/') && storagePuts.push(r.url()))
  await page.getByRole('navigation').getByRole('link', { name: 'Upload' }).click()
  await page.getByLabel('Title').fill('Notes')
  await page.getByLabel('Video file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') })
  await page.getByRole('button', { name: 'Start upload' }).click()
  await page.getByText('"notes.txt" is not a video (text/plain): choose a video file.').waitFor()
  const huge = join(shots, 'huge.mp4')
  writeFileSync(huge, Buffer.alloc(65 * 1024 * 1024))
  await page.getByLabel('Video file').setInputFiles(huge)
  await page.getByRole('button', { name: 'Start upload' }).click()
  await page.getByText(/is above the limit of 67108864 bytes/).waitFor()
  check(storagePuts.length === 0, `bytes were sent for refused files: ${storagePuts.length} PUTs`)
  await shot('refused-before-sending')

  // Pause, a failing part retried, a page reload mid-upload resumed from the parts storage holds, then cancel.
  // Parts are slowed to 600 ms each so there is time to act; the first PUT of part 2 fails once.
  const big = join(shots, 'not-really-a-video.mp4')
  writeFileSync(big, randomBytes(40 * 1024 * 1024)) // 5 parts of 8 MiB
  let failedOnce = false
  // Parts 4 and 5 are held back until the reload, so that the reload always comes in the middle of the upload.
  let holding = true
  let release
  const released = new Promise((r) => (release = r))
  await page.route('**/framelift-local/**', async (route) => {
    const url = route.request().url()
    if (route.request().method() !== 'PUT') return route.continue()
    if (holding && /partNumber=[45](&|$)/.test(url)) {
      await released
      return route.abort().catch(() => {})
    }
    await new Promise((r) => setTimeout(r, 600))
    if (!failedOnce && url.includes('partNumber=2')) {
      failedOnce = true
      return route.fulfill({ status: 503, body: 'slow down' })
    }
    return route.continue()
  })
  const progress = async () => Number(await page.getByRole('progressbar').getAttribute('aria-valuenow'))
  await page.reload()
  await page.getByLabel('Title').fill('Sea noise')
  await page.getByLabel('Video file').setInputFiles(big)
  storagePuts.length = 0
  await page.getByRole('button', { name: 'Start upload' }).click()
  await page.waitForFunction(() => Number(document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow')) > 0, null, { timeout: 30_000 })
  await page.getByRole('button', { name: 'Pause' }).click()
  await page.waitForTimeout(1500) // parts in flight when paused are aborted; nothing moves after that
  const paused = await progress()
  await page.waitForTimeout(1500)
  check((await progress()) === paused, 'progress moved while paused')
  await shot('paused')
  await page.getByRole('button', { name: 'Resume' }).click()
  await page.waitForFunction((p) => Number(document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow')) > p, paused, { timeout: 30_000 })
  check(failedOnce, 'the failing part was never tried')
  // Wait for at least one acknowledged part, then reload in the middle of the upload.
  const held = async () => {
    const pending = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('framelift.pending.')).map((k) => JSON.parse(localStorage[k]))[0])
    const token = await page.evaluate(() => JSON.parse(localStorage['framelift.session']).token)
    const res = await page.evaluate(async ([id, t]) => (await fetch(`/api/uploads/${id}/parts`, { headers: { authorization: `Bearer ${t}` } })).json(), [pending.videoId, token])
    return res.parts.length
  }
  await page.waitForFunction(async () => true)
  for (let i = 0; i < 50 && (await held()) < 2; i++) await page.waitForTimeout(200)
  const before = await held()
  check(before >= 2 && before < 5, `expected a partial upload before the reload, storage holds ${before} of 5 parts`)
  await page.reload()
  holding = false
  release()
  await page.getByLabel('Video file').setInputFiles(big)
  await page.getByText('This file was being uploaded as "Sea noise": Start upload resumes it.').waitFor()
  await shot('resume-offered')
  // A part that was on its way at the reload may still land (routed PUTs set off 600 ms late): what storage holds
  // once that has settled is what the resume must skip.
  await page.waitForTimeout(700)
  const atResume = await held()
  check(atResume >= before, `storage lost parts over the reload: ${before} before, ${atResume} after`)
  storagePuts.length = 0
  await page.getByRole('button', { name: 'Start upload' }).click()
  await page.waitForFunction(() => document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow') === '100', null, { timeout: 60_000 })
  await page.getByText('"Sea noise" is uploaded and being processed').waitFor()
  const resent = new Set(storagePuts.map((u) => new URL(u).searchParams.get('partNumber'))).size
  check(resent === 5 - atResume, `after the reload ${resent} parts were sent; storage held ${atResume} of 5`)
  await shot('resumed-and-uploaded')
  await page.unroute('**/framelift-local/**')

  // The random bytes are not a video: My videos shows it failed, with the reason.
  await page.getByRole('navigation').getByRole('link', { name: 'My videos' }).click()
  await page.locator('li', { hasText: 'Sea noise' }).locator('.badge.failed').waitFor({ timeout: 60_000 })
  await page.locator('li', { hasText: 'Sea noise' }).getByText(/not a video/).waitFor()
  await shot('failed-with-reason')
  // Its page says why too.
  await page.getByRole('link', { name: 'Sea noise', exact: true }).click()
  await page.getByRole('alert').filter({ hasText: 'This video could not be processed: not a video file' }).waitFor()
  await shot('failed-watch-page')

  // The server lost mid-upload (every storage PUT fails): the page says so, and Start upload retries where it stopped.
  await page.getByRole('navigation').getByRole('link', { name: 'Upload' }).click()
  const lost = join(shots, 'lost-connection.mp4')
  writeFileSync(lost, randomBytes(16 * 1024 * 1024)) // 2 parts of 8 MiB
  let down = true
  await page.route('**/framelift-local/**', (route) =>
    down && route.request().method() === 'PUT' ? route.abort('connectionrefused') : route.continue(),
  )
  await page.getByLabel('Title').fill('Lost connection')
  await page.getByLabel('Video file').setInputFiles(lost)
  await page.getByRole('button', { name: 'Start upload' }).click()
  await page.getByText('The upload stopped: the server could not be reached. Press Start upload to retry').waitFor({ timeout: 60_000 })
  await shot('connection-lost')
  down = false
  await page.getByRole('button', { name: 'Start upload' }).click()
  await page.getByText('"Lost connection" is uploaded and being processed').waitFor({ timeout: 60_000 })
  check(!(await page.getByText(/duplicate file/).isVisible()), 'the retry was refused as a duplicate file')
  await page.unroute('**/framelift-local/**')
  await shot('retried-after-connection-lost')

  // Cancel aborts the upload: it is gone from My videos.
  await page.getByRole('navigation').getByRole('link', { name: 'Upload' }).click()
  await page.route('**/framelift-local/**', async (route) => {
    if (route.request().method() === 'PUT') await new Promise((r) => setTimeout(r, 2000))
    return route.continue().catch(() => {})
  })
  writeFileSync(big, randomBytes(40 * 1024 * 1024))
  await page.getByLabel('Title').fill('Cancelled take')
  await page.getByLabel('Video file').setInputFiles(big)
  await page.getByRole('button', { name: 'Start upload' }).click()
  await page.getByRole('button', { name: 'Cancel' }).click()
  await page.getByText('Upload cancelled.').waitFor()
  await page.unroute('**/framelift-local/**')
  await page.getByRole('navigation').getByRole('link', { name: 'My videos' }).click()
  await page.locator('li', { hasText: 'Sea noise' }).waitFor()
  check((await page.locator('li', { hasText: 'Cancelled take' }).count()) === 0, 'a cancelled upload is still listed')
  await shot('cancelled')

  // Camera preview from Chromium's fake device.
  await page.getByRole('navigation').getByRole('link', { name: 'Camera' }).click()
  await page.getByRole('button', { name: 'Start camera' }).click()
  await page.waitForFunction(() => (document.querySelector('video')?.videoWidth ?? 0) > 0, null, { timeout: 15_000 })
  const tracks = await page.evaluate(() => document.querySelector('video').srcObject.getTracks().map((t) => t.kind).sort())
  check(tracks.join() === 'audio,video', `camera tracks: ${tracks}`)
  await shot('camera')

  // Play a link: the signed HLS URL, directly.
  await page.getByRole('navigation').getByRole('link', { name: 'Play a link' }).click()
  await page.getByLabel('Video URL').fill(hls)
  await page.getByRole('button', { name: 'Play' }).click()
  await page.locator('.stage video').waitFor()
  await page.evaluate(() => {
    const v = document.querySelector('video')
    v.muted = true
    return v.play()
  })
  await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1, null, { timeout: 30_000 })
  check((await currentTime()) > 1, 'the link did not play')
  // Keyboard: k pauses the player that has focus.
  await page.locator('.player').focus()
  await page.keyboard.press('k')
  check(await page.evaluate(() => document.querySelector('video').paused), 'k did not pause')
  await shot('play-link')
  // A stream that fails says so instead of leaving a blank box.
  await page.getByLabel('Video URL').fill(`${base}/nothing-here/master.m3u8`)
  await page.getByRole('button', { name: 'Play' }).click()
  await page.getByRole('alert').filter({ hasText: 'could not be played' }).waitFor({ timeout: 30_000 })
  await shot('broken-link')

  // Phone width: the navigation and search still fit.
  await page.setViewportSize({ width: 390, height: 800 })
  await page.goto(`${base}/#/`)
  await page.getByRole('link', { name: title }).waitFor()
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  check(overflow <= 0, `the page is ${overflow}px wider than a phone`)
  await shot('phone-home')

  check(problems.length === 0, problems.join('\n'))
  console.log(`web e2e: ${step} steps passed; screenshots in ${shots}`)
} catch (e) {
  await shot('failure').catch(() => {})
  console.error(`web e2e failed at step ${step + 1}: ${e.message}`)
  process.exitCode = 1
} finally {
  await browser.close()
  for (const f of ['huge.mp4', 'not-really-a-video.mp4', 'lost-connection.mp4']) rmSync(join(shots, f), { force: true })
}
