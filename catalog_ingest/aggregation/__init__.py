"""The aggregator's core: merging the records several sources hold for one ref, and the rules
every entity obeys. Plain Python (no database, broker or HTTP package): the storage calls it
inside the transaction that writes the records, so a merge is atomic with what caused it."""
