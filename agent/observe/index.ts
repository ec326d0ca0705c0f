export { agentReport, type ReportSources } from './agent-report.js';
