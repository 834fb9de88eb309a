// Lets this module build on its own (build-aar.sh: `gradle -p platforms/android assembleRelease`).
// An app that includes it as a subproject uses its own settings instead.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "imbridge"
