// Quiet, deterministic environment for every test file.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
process.env['POWERTOOLS_DEV'] = 'false';
