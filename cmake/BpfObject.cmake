# Build rules for the tc BPF programs under bpf/.
#
#   fr_bpf_skeleton(<name> <source.bpf.c> [<source.bpf.c>...])
#
# compiles each <source.bpf.c> with clang -target bpf against a vmlinux.h
# generated from the running kernel's BTF, links the objects into one
# (`bpftool gen object`: what they define weak, such as shared maps, becomes
# one), turns it into <name>.skel.h with `bpftool gen skeleton`, and defines
# the INTERFACE target fr_bpf_<name>.
# Linking fr_bpf_<name> gives `#include "<name>.skel.h"`, the headers next to
# the source (the *_kern_user.h files) and libbpf. The skeleton embeds the
# object, so nothing is installed.
#
# Needs clang, bpftool and the PkgConfig::LIBBPF target.
include_guard(GLOBAL)

find_program(FR_BPF_CLANG NAMES clang clang-14
             DOC "clang able to target BPF")
find_program(FR_BPFTOOL NAMES bpftool
             PATHS /usr/sbin /usr/local/sbin DOC "bpftool")
if(NOT FR_BPF_CLANG)
  message(FATAL_ERROR "clang not found; it compiles the BPF programs "
                      "(install clang or set FR_BPF_CLANG)")
endif()
if(NOT FR_BPFTOOL)
  message(FATAL_ERROR "bpftool not found; it generates vmlinux.h and the BPF "
                      "skeletons (install bpftool or set FR_BPFTOOL)")
endif()
if(NOT TARGET PkgConfig::LIBBPF)
  message(FATAL_ERROR "BpfObject needs PkgConfig::LIBBPF: call "
                      "pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf) "
                      "before include(BpfObject)")
endif()

set(FR_BPF_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH
    "Kernel BTF that vmlinux.h is generated from")
if(NOT EXISTS ${FR_BPF_VMLINUX_BTF})
  message(FATAL_ERROR "${FR_BPF_VMLINUX_BTF} not found: the kernel must be "
                      "built with CONFIG_DEBUG_INFO_BTF")
endif()

# vmlinux.h, generated once per build tree. It depends on the BTF file, whose
# time stamp changes with every boot, so a new kernel regenerates it.
set(FR_BPF_VMLINUX_DIR ${CMAKE_BINARY_DIR}/bpf-vmlinux)
add_custom_command(
  OUTPUT ${FR_BPF_VMLINUX_DIR}/vmlinux.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${FR_BPF_VMLINUX_DIR}
  COMMAND sh -c "\"$0\" btf dump file \"$1\" format c > \"$2.tmp\" && mv \"$2.tmp\" \"$2\""
          ${FR_BPFTOOL} ${FR_BPF_VMLINUX_BTF} ${FR_BPF_VMLINUX_DIR}/vmlinux.h
  DEPENDS ${FR_BPF_VMLINUX_BTF}
  COMMENT "Generating vmlinux.h from ${FR_BPF_VMLINUX_BTF}"
  VERBATIM)
add_custom_target(fr_bpf_vmlinux DEPENDS ${FR_BPF_VMLINUX_DIR}/vmlinux.h)

function(fr_bpf_skeleton name source)
  set(sources ${source} ${ARGN})
  list(GET sources 0 first)
  get_filename_component(src_dir ${first} ABSOLUTE)
  get_filename_component(src_dir ${src_dir} DIRECTORY)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/skel)
  set(obj ${out_dir}/${name}.bpf.o)
  set(skel ${out_dir}/${name}.skel.h)

  set(bpf_cflags -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86
      -Wall -Wextra -Wno-unused-parameter)
  if(FR_WERROR)
    list(APPEND bpf_cflags -Werror)
  endif()
  foreach(dir ${FR_BPF_VMLINUX_DIR} ${src_dir} ${LIBBPF_INCLUDE_DIRS})
    list(APPEND bpf_cflags -I${dir})
  endforeach()

  # One object per source; several are linked into one (bpftool gen
  # object), so that their programs share maps and one skeleton.
  set(parts)
  foreach(source ${sources})
    get_filename_component(src ${source} ABSOLUTE)
    get_filename_component(base ${src} NAME_WE)
    set(part ${out_dir}/${base}.part.o)
    add_custom_command(
      OUTPUT ${part}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND ${FR_BPF_CLANG} ${bpf_cflags} -MD -MF ${part}.d -c ${src}
              -o ${part}
      DEPENDS ${src} ${FR_BPF_VMLINUX_DIR}/vmlinux.h
      DEPFILE ${part}.d
      COMMENT "Compiling BPF object ${base}.part.o"
      VERBATIM)
    list(APPEND parts ${part})
  endforeach()
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${FR_BPFTOOL} gen object ${obj} ${parts}
    DEPENDS ${parts}
    COMMENT "Linking BPF object ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND sh -c "\"$0\" gen skeleton \"$1\" name \"$2\" > \"$3.tmp\" && mv \"$3.tmp\" \"$3\""
            ${FR_BPFTOOL} ${obj} ${name} ${skel}
    DEPENDS ${obj}
    COMMENT "Generating BPF skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(fr_bpf_${name}_skel DEPENDS ${skel})
  add_dependencies(fr_bpf_${name}_skel fr_bpf_vmlinux)

  add_library(fr_bpf_${name} INTERFACE)
  target_include_directories(fr_bpf_${name} INTERFACE ${out_dir} ${src_dir})
  target_link_libraries(fr_bpf_${name} INTERFACE PkgConfig::LIBBPF)
  add_dependencies(fr_bpf_${name} fr_bpf_${name}_skel)
endfunction()
