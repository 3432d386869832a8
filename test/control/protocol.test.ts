// parseRequest: what a well-formed request is, and that any other line is refused with an EINVAL
// RequestError (never another exception, never a crash).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DmError, NoSpaceError } from '../../src/base/errors.js';
import { fromWireError, parseRequest, RequestError, toWireError } from '../../src/control/protocol.js';

describe('parseRequest', () => {
  it('accepts a request and keeps its arguments', () => {
    const line = JSON.stringify({ id: 4, verb: 'message', args: { name: 'm', sector: 0, message: ['resync'] } });
    expect(parseRequest(line)).toEqual({ id: 4, verb: 'message', args: { name: 'm', sector: 0, message: ['resync'] } });
  });

  it('treats missing args as none', () => {
    expect(parseRequest('{"id":1,"verb":"ls"}')).toEqual({ id: 1, verb: 'ls', args: {} });
  });

  it.each([
    ['[1,2]', null, /JSON object/],
    ['"create"', null, /JSON object/],
    ['{"verb":"ls"}', null, /"id" must be an integer/],
    ['{"id":1.5,"verb":"ls"}', null, /"id" must be an integer/],
    ['{"id":1,"verb":"__proto__"}', 1, /unknown verb/],
    ['{"id":1,"verb":"ls","args":[]}', 1, /"args" must be an object/],
    ['{"id":1,"verb":"create","args":{"name":"a/b","table":""}}', 1, /not a valid device name/],
    [`{"id":1,"verb":"create","args":{"name":"${'n'.repeat(128)}","table":""}}`, 1, /at most 127 characters/],
    ['{"id":1,"verb":"suspend","args":{"name":"a","noflush":"yes"}}', 1, /'noflush' must be true or false/],
    ['{"id":1,"verb":"message","args":{"name":"a","sector":0,"message":[]}}', 1, /non-empty list of words/],
    ['{"id":1,"verb":"write","args":{"name":"a","sector":0,"data":"not base64!"}}', 1, /not base64/],
    ['{"id":1,"verb":"wait","args":{"name":"a","eventNr":1e300}}', 1, /'eventNr' must be a whole number/],
  ])('refuses %s', (line, id, message) => {
    let caught: unknown;
    try {
      parseRequest(line);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RequestError);
    expect(caught).toMatchObject({ code: 'EINVAL', requestId: id });
    expect((caught as Error).message).toMatch(message);
  });

  it('refuses any random line with a RequestError and nothing else', () => {
    const lines = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record({
          id: fc.anything(),
          verb: fc.oneof(fc.constantFrom('create', 'read', 'ls', 'wait'), fc.string()),
          args: fc.anything(),
        })
        .map((r) => JSON.stringify(r) ?? ''),
    );
    fc.assert(
      fc.property(lines, (line) => {
        try {
          parseRequest(line);
        } catch (e) {
          if (!(e instanceof RequestError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('wire errors', () => {
  it('keeps a DmError code across the socket and makes anything else EIO', () => {
    const back = fromWireError(toWireError(new NoSpaceError('cow full')));
    expect(back).toBeInstanceOf(DmError);
    expect(back).toMatchObject({ code: 'ENOSPC', message: 'cow full' });
    expect(toWireError(new TypeError('oops'))).toEqual({ code: 'EIO', message: 'oops' });
    expect(fromWireError({ code: 'EWHAT', message: 7 })).toMatchObject({
      code: 'EIO',
      message: expect.stringMatching(/without a message/),
    });
  });
});
