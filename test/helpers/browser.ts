// Debian's chromium driven by playwright-core for the Admin UI tests: headless, no sandbox (root in CI), no GPU,
// no background traffic to anywhere but 127.0.0.1, a fresh profile per launch, and a page that waits 15 s at most.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

export interface BrowserOptions {
  /** Prefix of the temporary profile directory (names the test in /tmp). */
  profile?: string;
  viewport?: { width: number; height: number };
  acceptDownloads?: boolean;
}

/** Starts chromium at `executablePath` (from requireDebianBinary) and returns its context and first page. */
export async function launchChromium(
  executablePath: string,
  options: BrowserOptions = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(
    mkdtempSync(join(tmpdir(), options.profile ?? 'chromium-profile-')),
    {
      executablePath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      ...(options.viewport ? { viewport: options.viewport } : {}),
      ...(options.acceptDownloads ? { acceptDownloads: true } : {}),
    },
  );
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  return { context, page };
}
