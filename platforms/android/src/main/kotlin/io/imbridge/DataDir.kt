package io.imbridge

import android.content.Context
import java.io.File

/**
 * The default home of imbridge's message store on Android: `imbridge/` in the app's no-backup
 * files directory (private to the app, not copied by Auto Backup — the store is a cache the
 * server can rebuild, and a restored copy would hold another device's cursors).
 */
fun defaultDataDir(context: Context): String =
    File(context.noBackupFilesDir, "imbridge").absolutePath

/** This config with [ImConfig.dataDir] set to [defaultDataDir] when it has none. */
fun ImConfig.withDefaultDataDir(context: Context): ImConfig =
    if (dataDir != null) this else copy(dataDir = defaultDataDir(context))
