// Colour on or off for the whole UI (off under NO_COLOR or without a colour terminal), and the one place
// that turns a tone into a colour. Every panel must read the same without colour: tones only decorate.

import { Text } from 'ink';
import { createContext, type ReactNode, useContext } from 'react';

export type Tone = 'error' | 'warn' | 'ok' | 'busy' | 'dim' | 'title' | 'plain';

const COLOURS: Record<Tone, string | undefined> = {
  error: 'red',
  warn: 'yellow',
  ok: 'green',
  busy: 'cyan',
  dim: 'gray',
  title: 'blue',
  plain: undefined,
};

export const ColourContext = createContext<boolean>(false);

function useColour(): boolean {
  return useContext(ColourContext);
}

/** Whether to draw colour: off when NO_COLOR is set (any value) or the output is not a colour TTY. */
export function colourWanted(env: NodeJS.ProcessEnv, stream: { isTTY?: boolean; hasColors?: () => boolean }): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && (stream.hasColors?.() ?? true);
}

export function Toned({ tone, bold, children }: { tone: Tone; bold?: boolean; children: ReactNode }) {
  const colour = useColour();
  const c = colour ? COLOURS[tone] : undefined;
  return (
    <Text {...(c ? { color: c } : {})} bold={colour && (bold ?? false)} wrap="truncate-end">
      {children}
    </Text>
  );
}
