"""The sandbox's own copy of the e-klase journal gateway contract v1 (WSDL + XSD).

Kept apart from ``connectors/eklase`` on purpose: the stand-in is written from the contract,
independently of the client, and never reads the connector's files.
"""
