"""JENKINS_HOME as a scan source: a live home, a restored backup, or a tar archive of one.

- ``layout``: where things are in a home and the ``jenkins-home://`` location scheme;
- ``walk`` (directories) and ``tar`` (archives, streamed, never extracted) hand out its files;
- ``xmlread``: Jenkins XML read as data, with positions;
- ``crypto``: hudson.util.Secret / SecretBytes decryption with the home's key files;
- ``inventory``: the stored-credentials inventory;
- ``scan``: one pass over the files through the detector, then decryption and the inventory.
"""
