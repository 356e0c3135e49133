"""Job functions the service can schedule (referenced as `module:function`)."""
