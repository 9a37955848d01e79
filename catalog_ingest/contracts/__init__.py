"""The contracts: what a provider, a repository, a lock and request slots must satisfy, the
records they exchange, the ingestion states, and the one error root. Plain Python; every other
package depends on this one and it depends on nothing."""
