import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_PATH } from '../../support/requirements';

/**
 * Debian's Chromium, headless, as root, on a machine with no route out: without the
 * background-networking switches it keeps opening connections the network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
