export * from './errors.js';
export * from './egress/plan.js';
export * from './egress/encoding.js';
export * from './egress/filename.js';
export * from './egress/request-plan.js';
export * from './ipc/messages.js';
export * from './log/logger.js';
export * from './config/index.js';
