/*  meshdot.h — a picture of the mesh as the local agent sees it, in
    Graphviz's DOT language (`zcnc nodes --dot | dot -Tsvg`): hubs as
    boxes, nodes as ellipses (green online, red offline, dotted when
    never seen), the links hub-hub and node-hub that the nodes' hub paths
    (`via`) show, this agent's own links to its hubs (dashed when not
    connected), and per node the jobs this agent still has queued for it.
*/
#ifndef ZC_MESHDOT_H
#define ZC_MESHDOT_H
#include <stdbool.h>
#include <jansson.h>

//  Renders the graph from the agent's answers: 'status' (the status op:
//  "name", "hubs"), 'nodes' (the nodes op's array) and 'queued' (the
//  queue list's array of jobs; NULL for none). Fields that are missing
//  or of the wrong type are left out of the picture, never an error.
//  Returns a malloc'd string the caller frees.
char *zc_meshdot_render (json_t *status, json_t *nodes, json_t *queued);

int zc_meshdot_test (bool verbose);
#endif
