"""The aks-estate CrossGuard policy pack.

The Pulumi CLI runs this directory as a script (`runpy.run_path`), so `__main__.py` imports `rules` as a top-level
package; the tests import the same modules as `policy.rules` and `policy.offline`. Inside `rules` every import is
relative, which is what lets both work.
"""
