#!/usr/bin/env node
/** CDK entry: reads the settings once and creates the stack. */
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { populateApp } from '../lib/app';
import { readSettings } from '../lib/settings';

const app = new App();
populateApp(
  app,
  readSettings((key) => app.node.tryGetContext(key)),
  path.resolve(__dirname, '..'),
);
app.synth();
