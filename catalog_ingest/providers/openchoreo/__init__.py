"""The OpenChoreo provider: an httpx client, a resumable three-phase walk, and a translator.

Organizations become Domains, projects Systems, components Components, and the workload
endpoints of services APIs. The walk's cursor has a fixed size whatever the installation's
size; see :mod:`catalog_ingest.providers.openchoreo.walk`.
"""
