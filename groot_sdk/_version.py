__version__ = "0.1.0"

#: Version of the plugin API (hookspecs and registry entries). A plugin declares the version it
#: was written against as ``GROOT_PLUGIN_API`` in its plugin module; the loader refuses others.
PLUGIN_API_VERSION = 1
