export { renderKubernetes, writeRendered, type Rendered, type RenderOptions } from './render-kubernetes.js';
