"""The OpenChoreo provider: both API generations, each a resumable walk with a fixed-size cursor.

Today's API (namespace era, :mod:`.namespace_walk`): namespaces become Domains, projects
Systems, components Components and their workloads' API endpoints APIs, shaped like the
official Backstage plugin's, from paged listings only (:mod:`.workload_join`). The
organization-era contract (:mod:`.walk`): organizations, projects and components, with one
detail call per service. :mod:`.entity_provider` speaks either, as configured or detected
(:mod:`.generation`).
"""
