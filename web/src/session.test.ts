import { describe, expect, it } from 'vitest'
import { claims } from './session'

const b64url = (s: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(s)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

describe('claims', () => {
  it('reads a token payload, UTF-8 names included', () => {
    const token = `${b64url('{"alg":"RS256"}')}.${b64url('{"sub":"1","name":"Zoë Ångström","exp":1767225600}')}.sig`
    expect(claims(token)).toEqual({ sub: '1', name: 'Zoë Ångström', exp: 1767225600 })
  })
})
