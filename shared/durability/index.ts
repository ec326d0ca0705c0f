export { WriteFaults, describeFault, errorCode, type StoreFault, type WriteFaultsOptions } from './write-faults.js';
export { freeBytes } from './free-space.js';
export { checkOpenFile, LostFileError, type FileCheck } from './file-check.js';
export { durableWrite, DurableWriteError } from './durable-write.js';
