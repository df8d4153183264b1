// Who is signed in. With a Google client id configured: Google Identity Services, whose ID token is the bearer token
// (renewed through a silent prompt before it expires). In the local stack: the dev issuer, by name.

import type { RuntimeConfig } from './api'

export interface Session {
  token: string
  name: string
  picture?: string
  expiresAt: number // ms since epoch
  via: 'google' | 'dev'
}

const KEY = 'framelift.session'
/** A token is renewed when it has less than this left. */
const RENEW_BEFORE_MS = 5 * 60 * 1000

/** The claims of a JWT, unverified (the server verifies; the page only reads its own token's name and expiry). */
export function claims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? ''
  const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/'))
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))))
}

function fromToken(token: string, via: Session['via']): Session {
  const c = claims(token)
  const name = (c.name ?? c.email ?? c.sub) as string
  return { token, name, picture: c.picture as string | undefined, expiresAt: Number(c.exp) * 1000, via }
}

type Listener = (s: Session | null) => void

export class Sessions {
  private current: Session | null = null
  private listeners: Listener[] = []
  private renewing: Promise<Session | null> | null = null

  constructor(private readonly config: RuntimeConfig) {
    const saved = localStorage.getItem(KEY)
    if (saved) {
      try {
        const s = JSON.parse(saved) as Session
        if (s.expiresAt > Date.now()) this.current = s
      } catch {
        localStorage.removeItem(KEY)
      }
    }
  }

  get session() {
    return this.current
  }

  /** The signed-in user's id (the token's `sub`, what the API calls `author.id`), or null. */
  get userId(): string | null {
    return this.current ? String(claims(this.current.token).sub ?? '') || null : null
  }

  onChange(l: Listener) {
    this.listeners.push(l)
  }

  private set(s: Session | null) {
    this.current = s
    if (s) localStorage.setItem(KEY, JSON.stringify(s))
    else localStorage.removeItem(KEY)
    for (const l of this.listeners) l(s)
  }

  async devSignIn(name: string) {
    const res = await fetch(`${this.config.apiBase}/dev/token`, { method: 'POST', body: JSON.stringify({ name }) })
    if (!res.ok) throw new Error((await res.json().catch(() => null))?.error?.message ?? 'Sign-in failed')
    const { token } = await res.json()
    this.set(fromToken(token, 'dev'))
  }

  googleCredential(token: string) {
    this.set(fromToken(token, 'google'))
  }

  signOut() {
    if (this.current?.via === 'google') window.google?.accounts.id.disableAutoSelect()
    this.set(null)
  }

  /** A token good for a while yet, renewing it first if it is close to expiry; null when signed out. */
  async token(): Promise<string | null> {
    const s = this.current
    if (!s) return null
    if (s.expiresAt - Date.now() > RENEW_BEFORE_MS) return s.token
    this.renewing ??= this.renew(s).finally(() => (this.renewing = null))
    return (await this.renewing)?.token ?? null
  }

  private async renew(s: Session): Promise<Session | null> {
    try {
      if (s.via === 'dev') {
        await this.devSignIn(s.name)
      } else {
        await new Promise<void>((resolve) => {
          const before = this.current
          window.google?.accounts.id.prompt()
          const started = Date.now()
          const wait = () => (this.current !== before || Date.now() - started > 10_000 ? resolve() : setTimeout(wait, 200))
          wait()
        })
      }
    } catch {
      // Fall through: an expired session is a signed-out one.
    }
    if (this.current && this.current.expiresAt > Date.now()) return this.current
    this.set(null)
    return null
  }
}

declare global {
  interface Window {
    google?: {
      accounts: {
        id: {
          initialize(opts: { client_id: string; callback: (r: { credential: string }) => void; auto_select?: boolean }): void
          renderButton(el: HTMLElement, opts: Record<string, unknown>): void
          prompt(): void
          disableAutoSelect(): void
        }
      }
    }
  }
}
