"""Worker scripts of the bench, one library per process (see ``protocol.py``).

The scripts run by path in each library's own interpreter and import their siblings as
top-level modules; ``cases`` and ``keras_models`` are also imported from the package.
"""
