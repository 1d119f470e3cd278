/**
 * The protocols kedge ships a mapper for (`kedge mapper <protocol>`), in the order --help lists
 * them. The edge starts these itself (`kedge edge --mappers`); other protocols need a mapper run by
 * hand that speaks KubeEdge's MQTT topics.
 */
export const MAPPER_PROTOCOLS = ['modbus', 'opcua', 'virtual'] as const;
export type MapperProtocol = (typeof MAPPER_PROTOCOLS)[number];

export function isMapperProtocol(name: string): name is MapperProtocol {
  return (MAPPER_PROTOCOLS as readonly string[]).includes(name);
}
