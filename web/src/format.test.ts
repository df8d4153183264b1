import { describe, expect, it } from 'vitest'
import type { Video } from './api'
import { bytes, chapterAt, duration, frameAt, parseStoryboard, encodingState, notPlayable, partSize, playable, stillEncoding } from './format'

describe('duration', () => {
  it('reads like a player clock', () => {
    expect(duration(0)).toBe('0:00')
    expect(duration(75.4)).toBe('1:15')
    expect(duration(3725)).toBe('1:02:05')
  })
})

describe('bytes', () => {
  it('uses binary units', () => {
    expect(bytes(512)).toBe('512 B')
    expect(bytes(1536)).toBe('1.5 KB')
    expect(bytes(20 * 1024 ** 3)).toBe('20.0 GB')
  })
})

describe('partSize', () => {
  it('matches the server: 8 MiB, raised in whole MiB to stay within 10,000 parts', () => {
    expect(partSize(1000)).toBe(8 * 1024 * 1024)
    const big = 200 * 1024 ** 3
    expect(partSize(big) % (1024 * 1024)).toBe(0)
    expect(Math.ceil(big / partSize(big))).toBeLessThanOrEqual(10_000)
  })
})

describe('playable', () => {
  it('finds YouTube ids in every link shape', () => {
    for (const link of [
      'https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10',
      'https://youtu.be/dQw4w9WgXcQ',
      'https://m.youtube.com/shorts/dQw4w9WgXcQ',
      'https://www.youtube.com/embed/dQw4w9WgXcQ',
    ]) {
      expect(playable(link)).toEqual({ kind: 'youtube', id: 'dQw4w9WgXcQ' })
    }
  })
  it('tells HLS from files and refuses what cannot play', () => {
    expect(playable('https://cdn.example/v/master.m3u8?sig=1')).toEqual({ kind: 'hls', url: 'https://cdn.example/v/master.m3u8?sig=1' })
    expect(playable('https://cdn.example/clip.mp4').kind).toBe('file')
    expect(playable('not a url').kind).toBe('invalid')
    expect(playable('javascript:alert(1)').kind).toBe('invalid')
    expect(playable('https://youtube.com/watch?v=short').kind).toBe('invalid')
  })
})

describe('notPlayable', () => {
  const v = (over: Partial<Video>): Video => ({ id: 'x', title: 't', author: { id: 'a', name: 'A' }, status: 'processing', createdAt: '', sizeBytes: 1, visibility: 'public', ...over })
  it('gives a failed video its reason', () => {
    expect(notPlayable(v({ status: 'failed', failureReason: 'not a video file: the file is incomplete' }))).toBe(
      'This video could not be processed: not a video file: the file is incomplete.',
    )
  })
  it('says how far processing has got', () => {
    expect(notPlayable(v({ progress: 0.427 }))).toBe('This video is being processed (42% encoded). It will play here as soon as its first minute is.')
  })
  it('says how much plays while the rest is encoded', () => {
    expect(encodingState(v({ progress: 0.25, playableSeconds: 60 }))).toBe('25% encoded · first 1:00 playable')
    expect(encodingState(v({ progress: 0.25 }))).toBe('25% encoded')
    expect(encodingState(v({ status: 'ready', playableSeconds: 60 }))).toBe('')
    expect(stillEncoding(v({ progress: 0.5, playableSeconds: 120 }))).toBe(
      'Still being processed (50% encoded · first 2:00 playable): what is encoded plays now, and the rest follows as it is encoded.',
    )
    expect(notPlayable(v({}))).toBe('This video is being processed. It will play here as soon as its first minute is encoded.')
    expect(notPlayable(v({ status: 'uploading' }))).toBe('This video has not finished uploading yet.')
  })
})

describe('chapterAt', () => {
  const chapters = [
    { startSeconds: 0, title: 'Intro' },
    { startSeconds: 60, title: 'Segments' },
    { startSeconds: 754, title: 'Questions' },
  ]
  it('names the chapter that has started last', () => {
    expect(chapterAt(chapters, 0)).toBe(0)
    expect(chapterAt(chapters, 59.9)).toBe(0)
    expect(chapterAt(chapters, 60)).toBe(1)
    expect(chapterAt(chapters, 10_000)).toBe(2)
  })
})

describe('parseStoryboard', () => {
  const vtt = 'WEBVTT\n\n00:00:00.000 --> 00:00:06.000\nhttps://cdn/s_0000.jpg?sig=1#xywh=0,0,160,90\n\n00:00:06.000 --> 00:00:12.000\nhttps://cdn/s_0000.jpg?sig=1#xywh=160,0,160,90\n\n01:00:00.000 --> 01:00:06.000\nhttps://cdn/s_0060.jpg#xywh=0,90,160,90\n'
  it('reads each cue as a frame of a sprite', () => {
    const frames = parseStoryboard(vtt)
    expect(frames).toHaveLength(3)
    expect(frames[1]).toEqual({ start: 6, end: 12, url: 'https://cdn/s_0000.jpg?sig=1', x: 160, y: 0, w: 160, h: 90 })
    expect(frames[2].start).toBe(3600)
  })
  it('finds the frame for a time', () => {
    const frames = parseStoryboard(vtt)
    expect(frameAt(frames, 7.5)?.x).toBe(160)
    expect(frameAt(frames, 3603)?.y).toBe(90)
    expect(frameAt(frames, 30)).toBeUndefined()
  })
})
