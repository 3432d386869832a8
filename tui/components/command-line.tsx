// The command line and the message line under it: what is being typed (with a cursor when focused), and the
// last command's result or, marked "error:", the reason it was refused.

import { Box } from 'ink';
import { fit } from '../format.js';
import { Toned } from './theme.js';

export type Message = { kind: 'info' | 'error' | 'busy'; text: string };

export interface CommandLineProps {
  text: string;
  focused: boolean;
  message: Message | null;
  width: number;
}

export function CommandLine({ text, focused, message, width }: CommandLineProps) {
  const prompt = focused ? `: ${text}_` : text ? `: ${text}` : ': (press : or tab to type a command, ? for help)';
  // Show the end of a long line: that is where the cursor is.
  const shown = prompt.length > width ? `~${prompt.slice(prompt.length - width + 1)}` : prompt;
  return (
    <Box flexDirection="column">
      <Toned tone={focused ? 'plain' : 'dim'}>{shown}</Toned>
      <Toned tone={message?.kind === 'error' ? 'error' : message?.kind === 'busy' ? 'busy' : 'ok'}>
        {message ? fit(message.kind === 'error' ? `error: ${message.text}` : message.text, width) : ' '}
      </Toned>
    </Box>
  );
}
