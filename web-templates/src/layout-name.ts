/** The upstream layouts, each with a dark (default) and a light theme. */
export type LayoutKind = 'grid' | 'speaker' | 'single-speaker';
export type Theme = 'dark' | 'light';

export interface LayoutChoice {
  kind: LayoutKind;
  theme: Theme;
}

/**
 * Parses `grid`, `grid-light`, `speaker-dark`, `single-speaker`, ... An unknown or empty name falls back to
 * the grid, as upstream's default template does.
 */
export function parseLayout(name: string): LayoutChoice {
  const theme: Theme = name.endsWith('-light') ? 'light' : 'dark';
  const base = name.replace(/-(light|dark)$/, '');
  const kind: LayoutKind = base === 'speaker' || base === 'single-speaker' ? base : 'grid';
  return { kind, theme };
}

/** The layout in a participant metadata update (`{"layout": "..."}`), or undefined if it carries none. */
export function layoutFromMetadata(metadata: string | undefined): string | undefined {
  if (!metadata) return undefined;
  try {
    const parsed: unknown = JSON.parse(metadata);
    if (parsed && typeof parsed === 'object' && 'layout' in parsed && typeof parsed.layout === 'string') {
      return parsed.layout;
    }
  } catch {
    // Metadata set by someone else may be any text; only the egress JSON changes the layout.
  }
  return undefined;
}
