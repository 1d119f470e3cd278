import type { Node, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { KubeObject } from '../../../api/object.ts';

/** A Pod as the informers and clients carry it: kubernetes-types' shape with the metadata kedge always has. */
export type PodObject = KubeObject & Pod;
/** A Node as the informers and clients carry it. */
export type NodeObject = KubeObject & Node;
