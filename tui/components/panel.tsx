// A panel: a title line (marked » when it has the focus, so focus is visible without colour) over a clipped
// body of fixed size. Panels never grow past the height the layout gave them.

import { Box } from 'ink';
import type { ReactNode } from 'react';
import { Toned } from './theme.js';

export interface PanelProps {
  title: string;
  /** Extra text after the title (counts, the selected device). */
  info?: string;
  focused?: boolean;
  width: number;
  height: number;
  children: ReactNode;
}

export function Panel({ title, info, focused = false, width, height, children }: PanelProps) {
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Toned tone={focused ? 'busy' : 'title'} bold>
        {`${focused ? '»' : ' '} ${title}${info ? ` ${info}` : ''}`}
      </Toned>
      <Box flexDirection="column" height={Math.max(0, height - 1)} overflow="hidden">
        {children}
      </Box>
    </Box>
  );
}
