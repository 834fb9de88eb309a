package android.content

import java.io.File

/**
 * Host-test stub: the one member of android.content.Context the Kotlin layer reads (a Java
 * getter there, `getNoBackupFilesDir()`, which Kotlin reads as this property).
 */
open class Context(open val noBackupFilesDir: File)
