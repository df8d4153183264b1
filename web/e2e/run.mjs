// The web client end to end in real headless Chromium (Debian's, driven by playwright-core) against a running dev
// server: node e2e/run.mjs BASE_URL CLIP SCREENSHOT_DIR. Each step saves a screenshot; any failure exits non-zero.

import { chromium } from 'playwright-core'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

const [base, clip, shots] = process.argv.slice(2)
if (!base || !clip || !shots) {
  console.error('usage: node e2e/run.mjs BASE_URL CLIP SCREENSHOT_DIR')
  process.exit(2)
}
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
const shot = async (name) => page.screenshot({ path: join(shots, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true })
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

  // Sign in with the dev issuer.
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByLabel('Name').fill('Keerti')
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
  await page.getByText('Keerti', { exact: true }).waitFor()
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
  await page.getByText('Uploaded.').waitFor()
  await shot('uploaded')

  // My videos: the status updates to ready without a reload.
  await page.getByRole('navigation').getByRole('link', { name: 'My videos' }).click()
  await page.locator('li', { hasText: title }).locator('.badge.ready').waitFor({ timeout: 180_000 })
  await shot('ready')

  // Watch: play past 2 s, then switch quality.
  await page.getByRole('link', { name: title }).click()
  await page.locator('video').waitFor()
  await page.evaluate(() => {
    const v = document.querySelector('video')
    v.muted = true
    return v.play()
  })
  await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 2, null, { timeout: 30_000 })
  const quality = page.getByLabel('Quality')
  const options = await quality.locator('option').allTextContents()
  check(options[0] === 'Auto' && options.length >= 3, `quality menu: ${options}`)
  await quality.selectOption({ label: options[1] })
  check((await quality.inputValue()) === '0', 'quality did not switch')
  await shot(`watch-${options[1]}`)
  const { hls } = await page.evaluate(async (id) => (await fetch(`/api/videos/${id}/watch`)).json(), new URL(page.url()).hash.split('/')[2])

  // Search with a typo in the author's name.
  await page.getByRole('searchbox', { name: 'Search' }).fill('keetri harbuor')
  await page.getByRole('searchbox', { name: 'Search' }).press('Enter')
  await page.getByRole('link', { name: title }).waitFor()
  await shot('search')

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
  await page.evaluate(() => {
    const v = document.querySelector('video')
    v.muted = true
    return v.play()
  })
  await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1, null, { timeout: 30_000 })
  check((await currentTime()) > 1, 'the link did not play')
  await shot('play-link')

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
}
