// The imbridge Android library (AAR): the Rust core cross-compiled with cargo-ndk for
// arm64-v8a, armeabi-v7a and x86_64 (cargo profile `mobile`, 16 KB pages), the UniFFI Kotlin
// bindings generated into build/generated, and the Kotlin layer in src/main/kotlin.
// AGP 9 compiles Kotlin itself (built-in Kotlin): no Kotlin plugin is applied.
//
//   gradle -p platforms/android assembleRelease   (or ../../platforms/android/build-aar.sh)
import javax.inject.Inject
import org.gradle.process.ExecOperations

plugins {
    id("com.android.library") version "9.0.0"
}

/** The Cargo workspace this module belongs to. */
val cargoWorkspace: Directory = layout.projectDirectory.dir("../..")
val androidAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val minApi = 24

android {
    namespace = "io.imbridge"
    compileSdk = 36
    ndkVersion = "28.2.13676358"

    defaultConfig {
        minSdk = minApi
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    // .so files stored uncompressed and 16 KB-aligned (the default for minSdk >= 23; applies to
    // this module's test APK — apps set the same in their own module).
    packaging {
        jniLibs {
            useLegacyPackaging = false
        }
    }
}

dependencies {
    // The generated bindings call into the library through JNA (the Android flavour: @aar).
    api("net.java.dev.jna:jna:5.17.0@aar")
    // ImSession's API: Flow / StateFlow / CoroutineDispatcher, LifecycleOwner.
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    api("androidx.lifecycle:lifecycle-common:2.9.4")
    implementation("androidx.lifecycle:lifecycle-process:2.9.4")
    // `android = true` bindings use @RequiresApi.
    implementation("androidx.annotation:annotation:1.9.1")
}

/** Cross-compiles the cdylib for each ABI into [outputDir]/<abi>/libimbridge.so. */
abstract class CargoNdkBuild @Inject constructor(private val exec: ExecOperations) : DefaultTask() {
    @get:InputFiles @get:PathSensitive(PathSensitivity.RELATIVE) abstract val rustSources: ConfigurableFileCollection
    @get:Internal abstract val workspace: DirectoryProperty
    @get:Internal abstract val ndkDirectory: DirectoryProperty
    @get:Input abstract val abis: ListProperty<String>
    @get:Input abstract val apiLevel: Property<Int>
    @get:Input abstract val cargoProfile: Property<String>
    @get:OutputDirectory abstract val outputDir: DirectoryProperty

    @TaskAction
    fun build() {
        val out = outputDir.get().asFile
        out.deleteRecursively()
        out.mkdirs()
        // 16 KB-page aligned (Android 15+ devices), and the relative relocations packed in
        // Android's APS2 format (read by Bionic since API 23; the NDK's clang adds RELR only
        // from API 28): about 100 KB less per ABI (README, size table).
        val linkFlags = "-C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,--pack-dyn-relocs=android"
        exec.exec {
            workingDir = workspace.get().asFile
            environment("ANDROID_NDK_HOME", ndkDirectory.get().asFile.absolutePath)
            // Only the target builds see RUSTFLAGS (cargo-ndk passes --target), not build scripts.
            environment("RUSTFLAGS", listOfNotNull(System.getenv("RUSTFLAGS"), linkFlags).joinToString(" "))
            commandLine(
                listOf("cargo", "ndk") + abis.get().flatMap { listOf("-t", it) } +
                    listOf("--platform", apiLevel.get().toString(), "-o", out.absolutePath) +
                    // Only the cdylib: the crate's staticlib would be a second LTO for nothing.
                    listOf("rustc", "-p", "imbridge", "--lib", "--crate-type", "cdylib", "--profile", cargoProfile.get()),
            )
        }
    }
}

/**
 * Generates the Kotlin bindings (Android flavour, [config]) from an unstripped host build of the
 * library: the bindgen reads the symbol table, and the `mobile` profile strips it.
 */
abstract class UniffiBindgen @Inject constructor(private val exec: ExecOperations) : DefaultTask() {
    @get:InputFiles @get:PathSensitive(PathSensitivity.RELATIVE) abstract val rustSources: ConfigurableFileCollection
    @get:InputFile @get:PathSensitive(PathSensitivity.RELATIVE) abstract val config: RegularFileProperty
    @get:Internal abstract val workspace: DirectoryProperty
    @get:OutputDirectory abstract val outputDir: DirectoryProperty

    @TaskAction
    fun generate() {
        val root = workspace.get().asFile
        val out = outputDir.get().asFile
        out.deleteRecursively()
        exec.exec {
            workingDir = root
            commandLine("cargo", "build", "--lib", "-p", "imbridge")
        }
        val targetDir = System.getenv("CARGO_TARGET_DIR")?.let(::File) ?: root.resolve("target")
        val hostLib = listOf("libimbridge.so", "libimbridge.dylib").map { targetDir.resolve("debug/$it") }
            .firstOrNull { it.isFile } ?: throw GradleException("no host build of libimbridge in $targetDir/debug")
        exec.exec {
            workingDir = root // the bindgen runs `cargo metadata` to find uniffi.toml
            commandLine(
                "cargo", "run", "-p", "imbridge", "--features", "cli", "--bin", "uniffi-bindgen", "--",
                "generate", "--library", hostLib.absolutePath, "--language", "kotlin",
                "--config", config.get().asFile.absolutePath, "--out-dir", out.absolutePath, "--no-format",
            )
        }
    }
}

val rustInputs = files(
    cargoWorkspace.dir("src"),
    cargoWorkspace.file("Cargo.toml"),
    cargoWorkspace.file("Cargo.lock"),
    cargoWorkspace.file("uniffi.toml"),
    // The bundled SQLite's compile flags (LIBSQLITE3_FLAGS).
    cargoWorkspace.file(".cargo/config.toml"),
)

val cargoNdkBuild = tasks.register<CargoNdkBuild>("cargoNdkBuild") {
    group = "rust"
    description = "Builds libimbridge.so for ${androidAbis.joinToString()} with cargo-ndk (profile mobile)"
    rustSources.from(rustInputs)
    workspace.set(cargoWorkspace)
    ndkDirectory.set(androidComponents.sdkComponents.ndkDirectory)
    abis.set(androidAbis)
    apiLevel.set(minApi)
    cargoProfile.set("mobile")
    outputDir.set(layout.buildDirectory.dir("generated/jniLibs"))
}

val uniffiBindgen = tasks.register<UniffiBindgen>("uniffiBindgen") {
    group = "rust"
    description = "Generates the Kotlin bindings (Android flavour) into build/generated/uniffi"
    rustSources.from(rustInputs)
    config.set(layout.projectDirectory.file("uniffi-android.toml"))
    workspace.set(cargoWorkspace)
    outputDir.set(layout.buildDirectory.dir("generated/uniffi"))
}

androidComponents {
    onVariants { variant ->
        variant.sources.kotlin?.addGeneratedSourceDirectory(uniffiBindgen, UniffiBindgen::outputDir)
        variant.sources.jniLibs?.addGeneratedSourceDirectory(cargoNdkBuild, CargoNdkBuild::outputDir)
    }
}
